//! Who is using the app and what they may do, their own account (`{base}/me`), people
//! for admins (`{base}/people`), shots shared by a link, and the audit list.
//!
//! The server renders the person's user name and role into the page (`<meta>` tags, as
//! the base path), so both sides know them at once and show only what the person may
//! do; the server still checks every request against its table of rights.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wages_store::{AuditEntry, LoginSession, Person, Role, Share};

use crate::error::AppError;

/// `<meta name=…>` carrying the user name and the role to the browser.
pub const META_USER: &str = "wages-user";
pub const META_ROLE: &str = "wages-role";

/// The person using the app, if anyone is logged in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Me {
    pub user: String,
    pub role: Option<Role>,
}

impl Me {
    /// From the request the server checked (its `Identity`), or the page's `<meta>` tags.
    pub fn current() -> Me {
        #[cfg(feature = "ssr")]
        {
            match identity() {
                Ok(identity) => Me { user: identity.user().to_owned(), role: Some(identity.role()) },
                Err(_) => Me::default(),
            }
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            let meta = |name: &str| {
                document()
                    .query_selector(&format!("meta[name={name}]"))
                    .ok()
                    .flatten()
                    .and_then(|m| m.get_attribute("content"))
                    .unwrap_or_default()
            };
            Me { user: meta(META_USER), role: Role::parse(&meta(META_ROLE)).ok() }
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        Me::default()
    }

    /// Whether the person may do what takes `role`.
    pub fn may(&self, role: Role) -> bool {
        self.role.is_some_and(|r| r >= role)
    }
}

/// This server's address as the browser reached it (`http://host:port`), for links
/// meant to be copied out of the app: from the request's `Host` on the server, from
/// the address bar in the browser.
pub fn origin() -> String {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>();
        let header = |name: &str| {
            parts.as_ref().and_then(|p| p.headers.get(name)).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let https = header("x-forwarded-proto").as_deref() == Some("https");
        header("host").map(|host| format!("{}://{host}", if https { "https" } else { "http" })).unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    String::new()
}

/// Whether the person using the app may do what takes `role` (from context).
pub fn may(role: Role) -> bool {
    use_context::<Me>().is_some_and(|me| me.may(role))
}

/// A person's own page: their account, sessions and what they share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MyAccount {
    pub person: Person,
    pub sessions: Vec<LoginSession>,
    pub shares: Vec<Share>,
}

/// Who is asking: what the server's login layer put in the request.
#[cfg(feature = "ssr")]
pub(crate) fn identity() -> Result<wages_store::Identity, AppError> {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<wages_store::Identity>().cloned())
        .ok_or_else(|| AppError::Forbidden("log in first".into()))
}

/// Whose scales the asker sees, narrowed to `site` when one is asked for (`?site=`).
#[cfg(feature = "ssr")]
pub fn within(site: &str) -> Result<wages_store::Sites, AppError> {
    let sites = identity().map(|i| i.sites().clone()).unwrap_or_default();
    Ok(sites.narrow(Some(site))?)
}

/// The person who logged in (not a token) and their session's key.
#[cfg(feature = "ssr")]
pub(crate) fn person() -> Result<(String, String), AppError> {
    match identity()? {
        wages_store::Identity::Person { user, session, .. } => Ok((user, session)),
        wages_store::Identity::Token(..) => Err(AppError::Forbidden("only a person who logged in may do this".into())),
    }
}

#[cfg(feature = "ssr")]
fn accounts() -> wages_store::Accounts {
    expect_context::<wages_store::Accounts>()
}

#[cfg(feature = "ssr")]
fn shares() -> wages_store::Shares {
    expect_context::<wages_store::Registry>().shares()
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_me() -> Result<MyAccount, AppError> {
    crate::error::with_status(
        async {
            let (user, session) = person()?;
            let person = accounts().person(&user).await?;
            let sessions = accounts().sessions_of(&user, &session).await?;
            let shares = shares().list(Some(&user)).await?;
            Ok(MyAccount { person, sessions, shares })
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn change_own_password(current_password: String, password: String) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let (user, session) = person()?;
            Ok(accounts().change_password(&user, &current_password, &password, &session).await?)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn set_own_display_name(display_name: String) -> Result<Person, AppError> {
    crate::error::with_status(
        async {
            let (user, _) = person()?;
            Ok(accounts().set_display_name(&user, &display_name).await?)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn end_own_session(id: String) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let (user, _) = person()?;
            if accounts().end_session_of(&user, &id).await? {
                Ok(())
            } else {
                Err(AppError::NotFound("no such session of yours".into()))
            }
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn list_people() -> Result<Vec<Person>, AppError> {
    crate::error::with_status(async { Ok(accounts().people().await?) }.await)
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn add_person(
    username: String,
    #[server(default)] display_name: String,
    role: String,
    password: String,
) -> Result<Person, AppError> {
    crate::error::with_status(
        async {
            let role = Role::parse(&role)?;
            let new = wages_store::NewPerson { username, display_name, role, password, sites: Vec::new() };
            Ok(accounts().add_person(&new).await?)
        }
        .await,
    )
}

/// One change to an account from the People page: only the fields sent change.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn update_person(
    username: String,
    #[server(default)] role: Option<String>,
    #[server(default)] disabled: Option<bool>,
    #[server(default)] password: Option<String>,
    #[server(default)] sites: Option<String>,
) -> Result<Person, AppError> {
    crate::error::with_status(
        async {
            let role = role.as_deref().map(Role::parse).transpose()?;
            // Site ids as typed: separated by commas or spaces.
            let sites = sites
                .map(|s| s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect());
            let patch = wages_store::PersonPatch { display_name: None, role, disabled, password, sites };
            Ok(accounts().update_person(&username, &patch, identity()?.user()).await?)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn delete_person(username: String) -> Result<(), AppError> {
    crate::error::with_status(async { Ok(accounts().delete_person(&username, identity()?.user()).await?) }.await)
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn read_audit(
    #[server(default)] before_at: Option<i64>,
    #[server(default)] before_id: Option<String>,
) -> Result<Vec<AuditEntry>, AppError> {
    crate::error::with_status(
        async {
            let before = before_at.zip(before_id.as_deref());
            Ok(shares().audit(before, 50).await?)
        }
        .await,
    )
}

/// The sites the asker sees: every site, or those they are limited to.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn list_sites() -> Result<Vec<wages_store::Site>, AppError> {
    crate::error::with_status(
        async {
            let mine = within("")?;
            let sites = expect_context::<wages_store::Registry>().sites().await?;
            Ok(sites.into_iter().filter(|s| mine.allows(Some(&s.id))).collect())
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn add_site(id: String, name: String, time_zone: String) -> Result<wages_store::Site, AppError> {
    crate::error::with_status(
        async {
            let input = wages_store::SiteInput { id, name, time_zone };
            Ok(expect_context::<wages_store::Registry>().add_site(&input).await?)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn delete_site(id: String) -> Result<(), AppError> {
    crate::error::with_status(async { Ok(expect_context::<wages_store::Registry>().delete_site(&id).await?) }.await)
}

/// Moves a scale to a site, or to none (an empty `site`).
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn set_device_site(
    client_id: String,
    #[server(default)] site: String,
) -> Result<wages_store::Device, AppError> {
    crate::error::with_status(
        async {
            let id = wages_codec::ClientId::parse(&client_id)
                .map_err(|_| AppError::NotFound(format!("no device with client_id {client_id}")))?;
            let site = Some(site.as_str()).filter(|s| !s.trim().is_empty());
            Ok(expect_context::<wages_store::Registry>().set_device_site(&id, site).await?)
        }
        .await,
    )
}

/// Shares a shot by a link; answers the link's code.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn share_shot(client_id: String, session_id: String) -> Result<String, AppError> {
    crate::error::with_status(
        async {
            let who = identity()?;
            let (Ok(id), Ok(sid)) =
                (wages_codec::ClientId::parse(&client_id), wages_codec::SessionId::parse(&session_id))
            else {
                return Err(AppError::NotFound(format!("no shot {session_id} on scale {client_id}")));
            };
            Ok(shares().share(id.as_str(), sid.as_str(), who.user()).await?.code)
        }
        .await,
    )
}

/// Withdraws a share: its owner may, and any admin.
#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn withdraw_share(code: String) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            let who = identity()?;
            let by = (who.role() < Role::Admin).then(|| who.user());
            if shares().withdraw(&code, by).await? {
                Ok(())
            } else {
                Err(AppError::NotFound("no such share of yours".into()))
            }
        }
        .await,
    )
}
