//! API tokens: listed, created (the secret shown once) and revoked from the Tokens page.
//! Only people manage tokens: a token cannot mint or revoke tokens.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wages_store::TokenInfo;

use crate::error::AppError;

/// A token just made: its listing and its secret, which is never shown again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

/// The person calling, from the request the server checked; tokens are refused.
#[cfg(feature = "ssr")]
fn person() -> Result<String, AppError> {
    crate::people::person().map(|(user, _)| user)
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn list_tokens() -> Result<Vec<TokenInfo>, AppError> {
    crate::error::with_status(
        async {
            person()?;
            Ok(expect_context::<wages_store::Accounts>().tokens().await?)
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn create_token(name: String, scope: String) -> Result<NewToken, AppError> {
    crate::error::with_status(
        async {
            let by = person()?;
            let scope = wages_store::Scope::parse(&scope)?;
            let (info, secret) = expect_context::<wages_store::Accounts>().create_token(&name, scope, &by).await?;
            Ok(NewToken { info, secret })
        }
        .await,
    )
}

#[server(prefix = "/api/fn", output = crate::json::Json)]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    crate::error::with_status(
        async {
            person()?;
            if expect_context::<wages_store::Accounts>().revoke_token(&id).await? {
                Ok(())
            } else {
                Err(AppError::NotFound(format!("no token {id}")))
            }
        }
        .await,
    )
}
