//! Drawing extraction graphs with plotters on a canvas (browser only): weight (g, left
//! axis) and flow rate (g/s, right axis) against seconds since each session started.
//! Up to four series overlay, aligned at their start or at their first drop.

use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wages_sessions::GraphPoint;

/// Colours of the series in order: weight, then a lighter one for flow.
const PALETTE: [(RGBColor, RGBColor); 4] = [
    (RGBColor(164, 88, 43), RGBColor(47, 110, 170)),
    (RGBColor(60, 140, 90), RGBColor(120, 90, 170)),
    (RGBColor(200, 150, 40), RGBColor(90, 160, 190)),
    (RGBColor(150, 60, 110), RGBColor(110, 110, 110)),
];

/// Draws `series` over the whole canvas; nothing happens if the canvas is unusable.
pub fn draw(canvas: &web_sys::HtmlCanvasElement, series: &[&[GraphPoint]], target: Option<f64>) -> Option<()> {
    let scale = fit_to_screen(canvas);
    let px = |n: f64| (n * scale).round();
    let root = CanvasBackend::with_canvas_object(canvas.clone())?.into_drawing_area();
    root.fill(&WHITE).ok()?;
    let all = || series.iter().flat_map(|s| s.iter());
    let seconds = all().map(|p| p.seconds).fold(30.0, f64::max);
    // Curves aligned at their first drop start before 0.
    let earliest = all().map(|p| p.seconds).fold(0.0, f64::min);
    let grams = all().map(|p| p.grams).chain(target).fold(40.0, f64::max) * 1.1;
    let flow = all().filter_map(|p| p.flow).fold(4.0, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .margin(px(12.0) as u32)
        .x_label_area_size(px(32.0) as u32)
        .y_label_area_size(px(48.0) as u32)
        .right_y_label_area_size(px(48.0) as u32)
        .build_cartesian_2d(earliest..seconds, 0.0..grams)
        .ok()?
        .set_secondary_coord(earliest..seconds, 0.0..flow);
    let font = (FontFamily::SansSerif, px(12.0));
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc("grams")
        .label_style(font)
        .axis_desc_style(font)
        .light_line_style(RGBColor(240, 235, 229))
        .draw()
        .ok()?;
    chart.configure_secondary_axes().y_desc("g/s").label_style(font).axis_desc_style(font).draw().ok()?;
    if let Some(target) = target {
        // The target yield: a thin grey line across the graph.
        let grey = RGBColor(130, 120, 110).stroke_width(px(1.5) as u32);
        chart.draw_series(LineSeries::new([(earliest, target), (seconds, target)], grey)).ok()?;
    }
    for (points, (weight, flow)) in series.iter().zip(PALETTE.iter().cycle()) {
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.seconds, p.grams)),
                weight.stroke_width(px(3.0) as u32),
            ))
            .ok()?;
        chart
            .draw_secondary_series(LineSeries::new(
                points.iter().filter_map(|p| p.flow.map(|f| (p.seconds, f))),
                flow.stroke_width(px(2.0) as u32),
            ))
            .ok()?;
    }
    root.present().ok()
}

/// Sizes the canvas's bitmap to its size on screen in device pixels, so a phone's graph
/// is as crisp as a desktop's; returns how many bitmap pixels make one CSS pixel. A
/// canvas not laid out yet (hidden) keeps its bitmap.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn fit_to_screen(canvas: &web_sys::HtmlCanvasElement) -> f64 {
    let css_width = f64::from(canvas.client_width());
    let css_height = f64::from(canvas.client_height());
    if css_width < 1.0 || css_height < 1.0 {
        return f64::from(canvas.width()) / 960.0;
    }
    let ratio = leptos::prelude::window().device_pixel_ratio().clamp(1.0, 4.0);
    let (width, height) = ((css_width * ratio).round() as u32, (css_height * ratio).round() as u32);
    if canvas.width() != width || canvas.height() != height {
        canvas.set_width(width);
        canvas.set_height(height);
    }
    ratio
}
