//! Sites in the registry's database: the sites themselves, which site each scale
//! belongs to, and which sites a person is limited to.

use sqlx::Row;

use crate::error::RegistryError;
use crate::site::{MAX_SITES, Site, SiteInput, site_id};
use crate::store::{Registry, now_ms};
use wages_codec::ClientId;

fn site(row: &sqlx::any::AnyRow) -> Result<Site, RegistryError> {
    Ok(Site {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        time_zone: row.try_get("time_zone")?,
        created_at: row.try_get("created_at")?,
    })
}

/// `input` checked, its time zone one this machine knows.
fn checked(input: &SiteInput) -> Result<SiteInput, RegistryError> {
    let input = input.check()?;
    if jiff::tz::TimeZone::get(&input.time_zone).is_err() {
        return Err(RegistryError::invalid(
            "time_zone",
            format!("{} is not a time zone this server knows", input.time_zone),
        ));
    }
    Ok(input)
}

impl Registry {
    /// Every site, by name.
    pub async fn sites(&self) -> Result<Vec<Site>, RegistryError> {
        let rows = sqlx::query("SELECT id, name, time_zone, created_at FROM sites ORDER BY name, id LIMIT $1")
            .bind(i64::try_from(MAX_SITES).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(site).collect()
    }

    /// Adds a site.
    pub async fn add_site(&self, input: &SiteInput) -> Result<Site, RegistryError> {
        let input = checked(input)?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sites").fetch_one(&self.pool).await?;
        if usize::try_from(count).unwrap_or(usize::MAX) >= MAX_SITES {
            return Err(RegistryError::Conflict(format!("an installation holds at most {MAX_SITES} sites")));
        }
        let added = sqlx::query(
            "INSERT INTO sites (id, name, time_zone, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&input.id)
        .bind(&input.name)
        .bind(&input.time_zone)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        if added.rows_affected() == 0 {
            return Err(RegistryError::Conflict(format!("there is already a site {}", input.id)));
        }
        self.site(&input.id).await
    }

    /// One site.
    pub async fn site(&self, id: &str) -> Result<Site, RegistryError> {
        let row = sqlx::query("SELECT id, name, time_zone, created_at FROM sites WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site).transpose()?.ok_or_else(|| RegistryError::Unknown(format!("no site {id}")))
    }

    /// Renames a site or changes its time zone (its id stays).
    pub async fn update_site(&self, id: &str, patch: &crate::SitePatch) -> Result<Site, RegistryError> {
        // A path naming no site is not found, whatever it holds.
        self.site(id).await?;
        let input =
            checked(&SiteInput { id: id.to_owned(), name: patch.name.clone(), time_zone: patch.time_zone.clone() })?;
        let updated = sqlx::query("UPDATE sites SET name = $1, time_zone = $2 WHERE id = $3")
            .bind(&input.name)
            .bind(&input.time_zone)
            .bind(id)
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(RegistryError::Unknown(format!("no site {id}")));
        }
        self.site(id).await
    }

    /// Deletes a site that no scale belongs to any more; people limited to it lose it.
    pub async fn delete_site(&self, id: &str) -> Result<(), RegistryError> {
        let scales: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM devices WHERE site_id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        if scales > 0 {
            return Err(RegistryError::Conflict(format!("{scales} scales belong to site {id}: move them first")));
        }
        let mut tx = self.pool.begin().await?;
        let gone = sqlx::query("DELETE FROM sites WHERE id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM person_sites WHERE site_id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        if gone.rows_affected() == 0 {
            return Err(RegistryError::Unknown(format!("no site {id}")));
        }
        Ok(())
    }

    /// Moves a scale to a site, or to none.
    pub async fn set_device_site(
        &self,
        client_id: &ClientId,
        site: Option<&str>,
    ) -> Result<crate::Device, RegistryError> {
        let site = site.map(str::trim).filter(|s| !s.is_empty()).map(site_id).transpose()?;
        if let Some(id) = &site {
            self.site(id).await?;
        }
        let updated = sqlx::query("UPDATE devices SET site_id = $1, updated_at = $2 WHERE client_id = $3")
            .bind(site)
            .bind(now_ms())
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?;
        self.updated(client_id, updated.rows_affected()).await
    }
}
