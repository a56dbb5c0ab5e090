//! The device object and the rules for registering and renaming one.

use serde::{Deserialize, Serialize};
use wages_codec::ClientId;

use crate::error::RegistryError;

/// Longest device name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A registered scale. Times are milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Device {
    /// The scale's MQTT identity: 1 to 64 characters of `A-Z a-z 0-9 _ -`.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "scale-01"))]
    pub client_id: ClientId,
    /// What people call it, e.g. "Bar, left group".
    #[cfg_attr(feature = "openapi", schema(example = "Bar, left group"))]
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Whether the scale's last status message said `online`.
    pub online: bool,
    /// When a message from the scale last arrived, if ever.
    pub last_seen_at: Option<i64>,
    /// The firmware the scale last reported, if any.
    pub firmware_version: Option<String>,
    /// The site (shop) it belongs to, if any.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(example = "soho"))]
    pub site: Option<String>,
}

/// A device's login to the embedded MQTT broker; the password is shown only when it is
/// issued (at registration, and when rotated) and never stored in clear.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MqttCredential {
    /// The device's `client_id`.
    #[cfg_attr(feature = "openapi", schema(example = "scale-01"))]
    pub mqtt_username: String,
    /// 48 hexadecimal digits.
    pub mqtt_password: String,
}

/// A device just registered, with its MQTT login (`POST /api/devices`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registered {
    #[serde(flatten)]
    pub device: Device,
    #[serde(flatten)]
    pub credential: MqttCredential,
}

/// A device name: trimmed, 1 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceName(String);

/// A name people give something (a scale, a token): trimmed, 1 to [`MAX_NAME_CHARS`]
/// characters, no control characters; errors name the field `name`.
pub(crate) fn checked_name(name: &str) -> Result<&str, RegistryError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RegistryError::invalid("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(RegistryError::invalid("name", format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if name.chars().any(char::is_control) {
        return Err(RegistryError::invalid("name", "must not contain control characters such as line breaks"));
    }
    Ok(name)
}

impl DeviceName {
    pub fn parse(name: &str) -> Result<Self, RegistryError> {
        checked_name(name).map(|n| Self(n.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registration, checked: what `POST /api/devices` and the register form carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDevice {
    pub client_id: ClientId,
    pub name: DeviceName,
}

/// The JSON body of `POST /api/devices`, as sent; [`Registration::check`] applies the rules.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registration {
    /// 1 to 64 characters of `A-Z a-z 0-9 _ -`; the scale's MQTT identity.
    #[cfg_attr(feature = "openapi", schema(example = "scale-01"))]
    pub client_id: String,
    /// 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(example = "Bar, left group"))]
    pub name: String,
}

impl Registration {
    pub fn check(&self) -> Result<NewDevice, RegistryError> {
        NewDevice::parse(&self.client_id, &self.name)
    }
}

/// The JSON body of `PATCH /api/devices/{client_id}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rename {
    /// 1 to 100 characters.
    #[cfg_attr(feature = "openapi", schema(example = "Window seat"))]
    pub name: String,
}

impl NewDevice {
    /// Checks both fields; the first broken rule is reported, naming its field.
    pub fn parse(client_id: &str, name: &str) -> Result<Self, RegistryError> {
        let client_id =
            ClientId::parse(client_id.trim()).map_err(|why| RegistryError::invalid("client_id", why.to_string()))?;
        Ok(Self { client_id, name: DeviceName::parse(name)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DeviceName::parse("  Bar, left  ").map(|n| n.as_str().to_owned()), Ok("Bar, left".to_owned()));
        assert_eq!(DeviceName::parse(&"é".repeat(100)).map(|n| n.as_str().chars().count()), Ok(100));
        assert_eq!(
            DeviceName::parse(&"x".repeat(101)),
            Err(RegistryError::invalid("name", "must be at most 100 characters"))
        );
        assert_eq!(DeviceName::parse("   "), Err(RegistryError::invalid("name", "must not be empty")));
        assert!(DeviceName::parse("two\nlines").is_err());
    }

    #[test]
    fn registrations_name_the_broken_field() {
        assert!(NewDevice::parse("scale-01", "Bar").is_ok());
        let err = NewDevice::parse("scale.01", "Bar").expect_err("bad id");
        assert_eq!(err.to_string(), "client_id may only contain A-Z a-z 0-9 _ -");
        let err = NewDevice::parse("", "Bar").expect_err("empty id");
        assert_eq!(err.to_string(), "client_id must not be empty");
        let err = NewDevice::parse("scale-01", "").expect_err("empty name");
        assert_eq!(err, RegistryError::invalid("name", "must not be empty"));
    }
}
