//! The framed binary bodies of `POST /v1/services/{name}/invoke-batch`
//! (the format is described in [`crate::remote`]): many inputs in one
//! request, their results in the same order, each input's error its own.

use super::ErrorBody;
use crate::{Error, Input, Output, Result, Value};

/// The content type of both bodies.
pub const CONTENT_TYPE: &str = "application/vnd.airssys.frames";

const OK: u8 = 0;
const FAILED: u8 = 1;

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn metadata_json(metadata: &[(String, Value)]) -> Vec<u8> {
    if metadata.is_empty() { Vec::new() } else { serde_json::to_vec(metadata).unwrap_or_default() }
}

/// Reads frames off a body; every short read is a 400 naming the frame.
struct Reader<'a> {
    rest: &'a [u8],
    frame: usize,
}

impl<'a> Reader<'a> {
    fn bad(&self, what: &str) -> Error {
        Error::BadRequest {
            reason: format!(
                "batch frame {} is cut short ({what}); each frame is a 4-byte big-endian length and that many \
                 bytes of metadata JSON, then the same for the data",
                self.frame
            ),
        }
    }

    fn take(&mut self, what: &str) -> Result<&'a [u8]> {
        let Some((len, rest)) = self.rest.split_first_chunk::<4>() else { return Err(self.bad(what)) };
        let len = u32::from_be_bytes(*len) as usize;
        if rest.len() < len {
            return Err(self.bad(what));
        }
        let (bytes, rest) = rest.split_at(len);
        self.rest = rest;
        Ok(bytes)
    }

    fn metadata(&mut self, what: &str) -> Result<Vec<(String, Value)>> {
        let bytes = self.take(what)?;
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        serde_json::from_slice(bytes).map_err(|e| Error::BadRequest {
            reason: format!("the {what} of batch frame {} is not metadata JSON: {e}", self.frame),
        })
    }
}

/// The request body for `inputs`.
pub fn encode_inputs(inputs: &[Input]) -> Vec<u8> {
    let size: usize = inputs.iter().map(|i| 8 + i.data.len()).sum();
    let mut out = Vec::with_capacity(size + 64);
    for input in inputs {
        put(&mut out, &metadata_json(&input.metadata));
        put(&mut out, &input.data);
    }
    out
}

/// The inputs of a request body ([`Error::BadRequest`] when a frame is cut short).
pub fn decode_inputs(body: &[u8]) -> Result<Vec<Input>> {
    let mut reader = Reader { rest: body, frame: 0 };
    let mut inputs = Vec::new();
    while !reader.rest.is_empty() {
        let metadata = reader.metadata("metadata")?;
        let data = reader.take("data")?.to_vec();
        inputs.push(Input { metadata, ..Input::new(data) });
        reader.frame += 1;
    }
    Ok(inputs)
}

/// The response body for `results`.
pub fn encode_results(results: &[Result<Output>]) -> Vec<u8> {
    let size: usize = results.iter().map(|r| r.as_ref().map_or(256, |o| o.data.len() + 16)).sum();
    let mut out = Vec::with_capacity(size);
    for result in results {
        match result {
            Ok(output) => {
                out.push(OK);
                put(&mut out, &metadata_json(&output.metadata));
                put(&mut out, &output.data);
            }
            Err(e) => {
                out.push(FAILED);
                put(&mut out, &serde_json::to_vec(&ErrorBody::of(e)).unwrap_or_default());
                put(&mut out, &[]);
            }
        }
    }
    out
}

/// The results of a response body, each error rebuilt as the server's
/// variant (`None` when the body is not result frames).
pub fn decode_results(body: &[u8]) -> std::result::Result<Vec<Result<Output>>, String> {
    let mut reader = Reader { rest: body, frame: 0 };
    let mut results = Vec::new();
    while let Some((&tag, rest)) = reader.rest.split_first() {
        reader.rest = rest;
        let result = match tag {
            OK => {
                let metadata = reader.metadata("metadata").map_err(|e| e.to_string())?;
                let data = reader.take("data").map_err(|e| e.to_string())?.to_vec();
                Ok(Output { data, metadata })
            }
            FAILED => {
                let body = reader.take("error").map_err(|e| e.to_string())?;
                reader.take("padding").map_err(|e| e.to_string())?;
                let body: ErrorBody = serde_json::from_slice(body)
                    .map_err(|e| format!("result {} is not an error body: {e}", reader.frame))?;
                let status = super::status::status_of(body.kind).as_u16();
                Err(body.into_error(status))
            }
            other => return Err(format!("result {} has the unknown tag {other}", reader.frame)),
        };
        results.push(result);
        reader.frame += 1;
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_results_survive_the_frames() {
        let mut tagged = Input::new(b"two".to_vec());
        tagged.metadata = vec![("k".into(), Value::Text("v".into()))];
        let inputs = vec![Input::new(b"one".to_vec()), tagged, Input::new(Vec::new())];
        let back = decode_inputs(&encode_inputs(&inputs)).unwrap();
        assert_eq!(back.len(), 3);
        assert_eq!(back[1].data, b"two");
        assert_eq!(back[1].metadata, inputs[1].metadata);
        assert!(back[2].data.is_empty());

        let results = vec![
            Ok(Output { data: b"A".to_vec(), metadata: Vec::new() }),
            Err(Error::UnknownService { name: "nope".into() }),
        ];
        let back = decode_results(&encode_results(&results)).unwrap();
        assert_eq!(back[0].as_ref().unwrap().data, b"A");
        assert!(matches!(&back[1], Err(Error::UnknownService { name }) if name == "nope"), "{:?}", back[1]);
    }

    #[test]
    fn a_cut_frame_is_refused_naming_it() {
        let mut body = encode_inputs(&[Input::new(b"ok".to_vec()), Input::new(b"cut".to_vec())]);
        body.pop();
        let err = decode_inputs(&body).unwrap_err();
        assert!(err.to_string().contains("batch frame 1 is cut short (data)"), "{err}");
    }
}
