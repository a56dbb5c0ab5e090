//! One module per page.

mod devices;
mod home;
mod not_found;
mod pipeline;

pub use devices::DevicesPage;
pub use home::HomePage;
pub use not_found::NotFound;
pub use pipeline::PipelinePage;
