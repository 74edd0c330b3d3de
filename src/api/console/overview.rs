//! The overview: counts of customers, tokens and storefront tokens, and the last 24 hours of
//! sign-in activity as a chart.

use super::errors::internal;
use super::frame::{render, Frame};
use super::{AppState, HttpResponse, Signed};
use askama::Template;
use warp::http::StatusCode;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    frame: Frame,
    customers: u64,
    tokens: u64,
    storefront_tokens: usize,
    chart: String,
}

/// `GET /admin/overview`.
pub(super) async fn page(state: &AppState, s: &Signed) -> HttpResponse {
    let counts = state.auth.counts().await;
    let (customers, tokens) = match counts {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let storefront_tokens = state.auth.storefront_tokens().await.map_or(0, |t| t.len());
    // The activity counters run on the wall clock (they live in `metrics`, which has no other).
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let page = OverviewPage {
        frame: Frame::new("Overview", Some(s)),
        customers,
        tokens,
        storefront_tokens,
        chart: activity_chart(&state.auth.metrics.activity.last_24_hours(now)),
    };
    render(StatusCode::OK, &page)
}

const COLORS: [&str; 3] = ["#1e8e3e", "#d93025", "#7b1fa2"];
const KINDS: [&str; 3] = ["sign-ins", "failures", "lockouts"];

/// A bar chart of per-hour counts as inline SVG: three bars an hour (sign-ins, failures,
/// lockouts), scaled to the largest count, hours labelled every three (UTC). Colours are
/// presentation attributes, which the CSP's `style-src` does not govern.
pub(super) fn activity_chart(hours: &[(i64, [u64; 3])]) -> String {
    const SLOT: usize = 30;
    const TOP: u64 = 10;
    const HEIGHT: u64 = 160;
    let width = SLOT * hours.len() + 40;
    let max = hours
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} 215\" role=\"img\" aria-label=\"Sign-ins, failures and lockouts per hour over the last 24 hours\">"
    );
    svg.push_str(&format!(
        "<text x=\"0\" y=\"{}\" font-size=\"10\">{max}</text><line x1=\"34\" y1=\"{}\" x2=\"{width}\" y2=\"{}\" stroke=\"#d0d4d9\"/>",
        TOP + 4,
        TOP + HEIGHT,
        TOP + HEIGHT
    ));
    for (i, (start, counts)) in hours.iter().enumerate() {
        let x0 = 36 + i * SLOT;
        let hour = start.div_euclid(3600).rem_euclid(24);
        svg.push_str(&format!(
            "<g><title>{hour:02}:00 UTC: {} sign-ins, {} failures, {} lockouts</title>",
            counts[0], counts[1], counts[2]
        ));
        for (k, count) in counts.iter().enumerate() {
            let h = count * HEIGHT / max;
            svg.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"8\" height=\"{h}\" fill=\"{}\"/>",
                x0 + k * 9,
                TOP + HEIGHT - h,
                COLORS[k]
            ));
        }
        svg.push_str("</g>");
        if i % 3 == 0 {
            svg.push_str(&format!(
                "<text x=\"{x0}\" y=\"{}\" font-size=\"10\">{hour:02}:00</text>",
                TOP + HEIGHT + 16
            ));
        }
    }
    for (k, name) in KINDS.iter().enumerate() {
        let x = 36 + k * 90;
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"202\" width=\"8\" height=\"8\" fill=\"{}\"/><text x=\"{}\" y=\"210\" font-size=\"10\">{name}</text>",
            COLORS[k],
            x + 12
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Activity;

    #[test]
    fn activity_is_counted_per_hour_for_the_last_24_hours() {
        let a = Activity::default();
        let t = 1_700_000_000 - 1_700_000_000 % 3600;
        a.record(t - 25 * 3600, Activity::SIGN_IN);
        a.record(t - 3600, Activity::FAILURE);
        a.record(t + 5, Activity::SIGN_IN);
        a.record(t + 3599, Activity::SIGN_IN);
        a.record(t + 10, Activity::LOCKOUT);
        let hours = a.last_24_hours(t + 100);
        assert_eq!(hours.len(), 24);
        assert_eq!(hours[23], (t, [2, 0, 1]));
        assert_eq!(hours[22], (t - 3600, [0, 1, 0]));
        assert_eq!(hours[0].0, t - 23 * 3600);
        let total: u64 = hours.iter().map(|(_, c)| c.iter().sum::<u64>()).sum();
        assert_eq!(total, 4, "the hour 25 hours ago is out of the window");
    }

    #[test]
    fn the_chart_scales_bars_to_the_busiest_hour() {
        let mut hours: Vec<(i64, [u64; 3])> = (0..24).map(|h| (h * 3600, [0, 0, 0])).collect();
        hours[5].1 = [4, 2, 1];
        let svg = activity_chart(&hours);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>05:00 UTC: 4 sign-ins, 2 failures, 1 lockouts</title>"));
        assert!(svg.contains("height=\"160\" fill=\"#1e8e3e\""), "{svg}");
        assert!(svg.contains("height=\"80\" fill=\"#d93025\""));
        assert!(svg.contains("height=\"40\" fill=\"#7b1fa2\""));
        assert!(!svg.contains("style"));
    }
}
