//! Sites: the shops of a cafe company. Each scale belongs to at most one site; a person
//! may be limited to some sites, and then sees only their scales, shots and rollout.

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;

/// Longest site id, in characters.
pub const MAX_SITE_ID_CHARS: usize = 32;
/// Most sites an installation holds, and most sites one person is limited to.
pub const MAX_SITES: usize = 200;

/// A shop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Site {
    /// 1 to 32 of `a-z 0-9 -`: what `?site=` takes.
    #[cfg_attr(feature = "openapi", schema(example = "soho"))]
    pub id: String,
    /// What people call it.
    #[cfg_attr(feature = "openapi", schema(example = "Soho, Old Compton St"))]
    pub name: String,
    /// Its IANA time zone.
    #[cfg_attr(feature = "openapi", schema(example = "Europe/London"))]
    pub time_zone: String,
    pub created_at: i64,
}

/// A site as an admin adds or changes it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteInput {
    #[cfg_attr(feature = "openapi", schema(example = "soho"))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(example = "Soho, Old Compton St"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "Europe/London"))]
    pub time_zone: String,
}

/// A change to a site: its name and time zone (its id stays).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SitePatch {
    #[cfg_attr(feature = "openapi", schema(example = "Soho, Old Compton St"))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(example = "Europe/London"))]
    pub time_zone: String,
}

/// A site id: trimmed, lower case, 1 to 32 of `a-z 0-9 -`.
pub fn site_id(raw: &str) -> Result<String, RegistryError> {
    let id = raw.trim().to_lowercase();
    let ok = !id.is_empty()
        && id.chars().count() <= MAX_SITE_ID_CHARS
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok { Ok(id) } else { Err(RegistryError::invalid("site", "must be 1 to 32 of a-z, 0-9 and '-'")) }
}

impl SiteInput {
    /// The input with its id, name and time zone checked (the zone's name only; the
    /// server checks it names a zone it knows).
    pub fn check(&self) -> Result<SiteInput, RegistryError> {
        let id = site_id(&self.id).map_err(|e| match e {
            RegistryError::Invalid { message, .. } => RegistryError::invalid("id", message),
            other => other,
        })?;
        let name = crate::device::checked_name(&self.name)?.to_owned();
        let zone = self.time_zone.trim();
        let ok = !zone.is_empty()
            && zone.len() <= 64
            && zone.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
        if !ok {
            return Err(RegistryError::invalid("time_zone", "must be an IANA time zone such as Europe/London"));
        }
        Ok(SiteInput { id, name, time_zone: zone.to_owned() })
    }
}

/// Which sites' scales someone may see: every scale (with or without a site), or only
/// the scales of these sites.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sites(Option<Vec<String>>);

impl Sites {
    /// Every scale.
    pub fn all() -> Sites {
        Sites(None)
    }

    /// Only the scales of `sites`; an empty list is every scale (nobody is limited to
    /// nothing).
    pub fn only(sites: Vec<String>) -> Sites {
        if sites.is_empty() { Sites(None) } else { Sites(Some(sites)) }
    }

    /// The sites, when limited.
    pub fn limited(&self) -> Option<&[String]> {
        self.0.as_deref()
    }

    /// Whether a scale of `site` (`None`: a scale of no site) is within.
    pub fn allows(&self, site: Option<&str>) -> bool {
        match (&self.0, site) {
            (None, _) => true,
            (Some(sites), Some(site)) => sites.iter().any(|s| s == site),
            (Some(_), None) => false,
        }
    }

    /// Narrowed to one site as `?site=` asks; a site outside them is an error.
    pub fn narrow(&self, site: Option<&str>) -> Result<Sites, RegistryError> {
        match site.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(self.clone()),
            Some(site) => {
                let id = site_id(site)?;
                if self.allows(Some(&id)) {
                    Ok(Sites(Some(vec![id])))
                } else {
                    Err(RegistryError::Unknown(format!("no site {id} of yours")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_limit_and_narrow() {
        let all = Sites::all();
        assert!(all.allows(None) && all.allows(Some("soho")));
        let soho = Sites::only(vec!["soho".into()]);
        assert!(soho.allows(Some("soho")) && !soho.allows(Some("leeds")) && !soho.allows(None));
        assert_eq!(Sites::only(Vec::new()), Sites::all());
        assert_eq!(
            all.narrow(Some("Leeds")).map(|s| s.limited().map(<[String]>::to_vec)),
            Ok(Some(vec!["leeds".into()]))
        );
        assert_eq!(all.narrow(Some(" ")), Ok(Sites::all()));
        assert!(soho.narrow(Some("leeds")).is_err());
        assert!(all.narrow(Some("a b")).is_err());
    }

    #[test]
    fn site_inputs_are_checked() {
        let input = |id: &str, zone: &str| SiteInput { id: id.into(), name: "Soho".into(), time_zone: zone.into() };
        assert_eq!(input(" Soho ", "Europe/London").check().map(|s| s.id), Ok("soho".into()));
        assert!(input("", "Europe/London").check().is_err());
        assert!(input("so ho", "Europe/London").check().is_err());
        assert!(input("soho", "Europe London").check().is_err());
    }
}
