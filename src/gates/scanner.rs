//! `Scanner`: who scans at a gate. Either a gate agent (or admin) with their own access token,
//! as on a phone, or an enrolled gate device with its device token, alone or with the gate
//! agent signed in on it, whose access token travels in the `X-Gate-Agent` header.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::devices::caller::GateDevice;
use crate::auth::device_tokens;
use crate::auth::extract::{GateAgent, Require, bearer_token, gate_agent_on_device};
use crate::error::ApiError;

pub enum Scanner {
    Agent(Require<GateAgent>),
    Device(DeviceScanner),
}

/// An enrolled gate device, with the gate agent signed in on it if any: the only scanner of
/// routes that take a device token alone (the offline upload). A person's access token is
/// refused (403 `gate_device_required`).
pub struct DeviceScanner {
    pub device: GateDevice,
    pub agent: Option<Require<GateAgent>>,
}

impl Scanner {
    /// The person recorded with the scan, if one is signed in.
    pub fn agent_id(&self) -> Option<Uuid> {
        match self {
            Scanner::Agent(agent) => Some(agent.id),
            Scanner::Device(scanner) => scanner.agent.as_ref().map(|agent| agent.id),
        }
    }

    pub fn device(&self) -> Option<&GateDevice> {
        match self {
            Scanner::Agent(_) => None,
            Scanner::Device(scanner) => Some(&scanner.device),
        }
    }

    /// Organizers and admins scan at draft events (rehearsals), and so do the devices they
    /// registered for one.
    pub fn sees_drafts(&self) -> bool {
        match self {
            Scanner::Agent(agent) => agent.is_organizer(),
            Scanner::Device(_) => true,
        }
    }
}

impl FromRequest for Scanner {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_device = bearer_token(req).is_ok_and(device_tokens::is_device_token);
        if !is_device {
            let agent = Require::<GateAgent>::from_request(req, payload);
            return Box::pin(async move { Ok(Scanner::Agent(agent.await?)) });
        }
        let device = DeviceScanner::from_request(req, payload);
        Box::pin(async move { Ok(Scanner::Device(device.await?)) })
    }
}

impl FromRequest for DeviceScanner {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let device = GateDevice::from_request(req, payload);
        let agent = gate_agent_on_device(req);
        Box::pin(async move {
            // The device first: a revoked device is refused whoever is signed in on it.
            let device = device.await?;
            let agent = match agent {
                Some(agent) => Some(agent.await?),
                None => None,
            };
            Ok(DeviceScanner { device, agent })
        })
    }
}
