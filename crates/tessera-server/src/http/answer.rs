//! The answer of a Stytch-shaped route: `{request_id, status_code: 200, ...body}`, serialized
//! into one buffer sized up front for a typical answer (an authenticate's is about 3.7 KiB), so
//! that it is not reallocated as it fills.

use axum::{
    http::{HeaderValue, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use tessera_api::views::stytch::Envelope;
use tessera_core::ErrorType;

use super::{error::ApiError, request_id::RequestId};

/// What a route answers: a response, or an error the request-id middleware renders.
pub(super) type Answer = Result<Response, ApiError>;

const TYPICAL_ANSWER_BYTES: usize = 4096;

/// `200` with `body` in Stytch's envelope.
pub(super) fn ok<T: Serialize>(request_id: &RequestId, body: T) -> Response {
    let mut bytes = Vec::with_capacity(TYPICAL_ANSWER_BYTES);
    match serde_json::to_writer(&mut bytes, &Envelope::ok(&request_id.0, body)) {
        Ok(()) => {
            ([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], bytes).into_response()
        }
        // Only a `Serialize` impl that fails can get here (the views' do not).
        Err(_) => ApiError::new(ErrorType::InternalServerError, "the answer could not be encoded")
            .into_response(),
    }
}
