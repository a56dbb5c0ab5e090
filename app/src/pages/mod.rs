//! One module per page.

mod device;
mod devices;
mod home;
mod not_found;
mod pipeline;
mod session;

pub use device::DevicePage;
pub use devices::DevicesPage;
pub use home::HomePage;
pub use not_found::NotFound;
pub use pipeline::PipelinePage;
pub use session::SessionPage;
