//! ureq 3: one agent keeping one connection alive, one request at a time,
//! each body read whole with `read_to_vec`. The agent is told to send no
//! `User-Agent`, `Accept` or `Accept-Encoding` and to use no proxy, so its
//! request is the same as the others'.

use ureq::config::AutoHeaderValue;
use ureq::Agent;

use super::{expect_ok, Ctx, PATH};
use crate::window::Measurement;
use crate::BoxError;

/// One at a time over the agent's one pooled connection.
pub(super) fn one_at_a_time(ctx: &Ctx<'_>) -> Result<Measurement, BoxError> {
    let config = Agent::config_builder()
        .proxy(None)
        .user_agent(AutoHeaderValue::None)
        .accept(AutoHeaderValue::None)
        .accept_encoding(AutoHeaderValue::None)
        .max_idle_connections(1)
        .max_idle_connections_per_host(1)
        .build();
    let agent = Agent::new_with_config(config);
    let url = format!("http://{}{PATH}", ctx.authority());
    let mut window = ctx.window();
    loop {
        let mut response = agent.get(&url).call()?;
        expect_ok(response.status().as_u16())?;
        let body = response.body_mut().read_to_vec()?;
        if !window.record(body.len() as u64) {
            break;
        }
    }
    // Closes the pooled connection.
    drop(agent);
    window.finish()
}
