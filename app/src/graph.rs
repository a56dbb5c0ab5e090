//! Drawing extraction graphs with plotters on a canvas (browser only): weight (g, left
//! axis) and flow rate (g/s, right axis) against seconds since each session started.
//! Up to four series overlay, aligned at their start or at their first drop. Beside it,
//! what a machine measured: pressure, flow, temperatures, water dispensed.

use plotters::chart::DualCoordChartContext;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wages_sessions::GraphPoint;
use wages_store::series::SeriesKind;

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
    let mut chart = frame(&root, scale, earliest..seconds, (0.0..grams, "grams"), (0.0..flow, "g/s"))?;
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

/// The chart both graphs draw on: seconds across, `left` and `right` (a range and its
/// unit) up each side, with the page's fonts and grid at `scale` bitmap pixels a CSS pixel.
type Frame<'a> = DualCoordChartContext<
    'a,
    CanvasBackend,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
    Cartesian2d<RangedCoordf64, RangedCoordf64>,
>;

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a few dozen pixels
fn frame<'a>(
    root: &DrawingArea<CanvasBackend, plotters::coord::Shift>,
    scale: f64,
    seconds: std::ops::Range<f64>,
    left: (std::ops::Range<f64>, &str),
    right: (std::ops::Range<f64>, &str),
) -> Option<Frame<'a>> {
    let px = |n: f64| (n * scale).round();
    let mut chart = ChartBuilder::on(root)
        .margin(px(12.0) as u32)
        .x_label_area_size(px(32.0) as u32)
        .y_label_area_size(px(48.0) as u32)
        .right_y_label_area_size(px(48.0) as u32)
        .build_cartesian_2d(seconds.clone(), left.0)
        .ok()?
        .set_secondary_coord(seconds, right.0);
    let font = (FontFamily::SansSerif, px(12.0));
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(left.1)
        .label_style(font)
        .axis_desc_style(font)
        .light_line_style(RGBColor(240, 235, 229))
        .draw()
        .ok()?;
    chart.configure_secondary_axes().y_desc(right.1).label_style(font).axis_desc_style(font).draw().ok()?;
    Some(chart)
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

/// Colour of each series beside the weight (the page's swatches use the same).
fn machine_colour(kind: SeriesKind) -> RGBColor {
    match kind {
        SeriesKind::Pressure => RGBColor(46, 125, 50),
        SeriesKind::Flow => RGBColor(21, 101, 192),
        SeriesKind::WaterTemperature => RGBColor(198, 40, 40),
        SeriesKind::BasketTemperature => RGBColor(239, 108, 0),
        SeriesKind::WaterDispensed => RGBColor(0, 131, 143),
    }
}

/// Draws what the machine measured beside the weight: pressure and flow (and water
/// dispensed, scaled to fit, its tenth) against the left axis, temperatures against the
/// right, over the same seconds as the weight graph. `shown`: the kinds to draw.
pub fn draw_machine(
    canvas: &web_sys::HtmlCanvasElement,
    curves: &[crate::devices::MachineCurve],
    shown: &[SeriesKind],
    seconds: (f64, f64),
) -> Option<()> {
    let scale = fit_to_screen(canvas);
    let px = |n: f64| (n * scale).round();
    let root = CanvasBackend::with_canvas_object(canvas.clone())?.into_drawing_area();
    root.fill(&WHITE).ok()?;
    let visible = || curves.iter().filter(|c| shown.contains(&c.kind));
    let is_temperature = |k: SeriesKind| matches!(k, SeriesKind::WaterTemperature | SeriesKind::BasketTemperature);
    let left_value =
        |c: &crate::devices::MachineCurve, v: f64| if c.kind == SeriesKind::WaterDispensed { v / 10.0 } else { v };
    let left_top = visible()
        .filter(|c| !is_temperature(c.kind))
        .flat_map(|c| c.points.iter().map(move |p| left_value(c, p.1)))
        .fold(10.0, f64::max)
        * 1.1;
    let temperatures = || visible().filter(|c| is_temperature(c.kind)).flat_map(|c| c.points.iter().map(|p| p.1));
    let (low, high) = temperatures().fold((f64::MAX, f64::MIN), |(a, b), t| (a.min(t), b.max(t)));
    let (low, high) = if low > high { (80.0, 100.0) } else { ((low - 2.0).floor(), (high + 2.0).ceil()) };
    let (from, to) = seconds;
    let mut chart = frame(&root, scale, from..to, (0.0..left_top, "bar · ml/s"), (low..high, "°C"))?;
    for c in visible() {
        let style = machine_colour(c.kind).stroke_width(px(2.0) as u32);
        if is_temperature(c.kind) {
            chart.draw_secondary_series(LineSeries::new(c.points.iter().copied(), style)).ok()?;
        } else {
            chart.draw_series(LineSeries::new(c.points.iter().map(|p| (p.0, left_value(c, p.1))), style)).ok()?;
        }
    }
    root.present().ok()
}
