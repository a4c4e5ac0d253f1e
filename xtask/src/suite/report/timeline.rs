//! The picture of a run that `cargo xtask report` writes: an HTML page holding one SVG,
//! a band per shard with a lane per worker slot, each attempt a bar from its start to
//! its end coloured by verdict, the planned length as a dark line under it, the shard's
//! predicted end as a dashed line, and its tail (from the first lane to finish for good
//! to the shard's end) shaded, so the slow shard, the idle slots and the last cases
//! stand out.

use super::bound::{Bound, Work, bound};
use anyhow::{Context, Result};
use quick_xml::escape::escape;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use torch_harness::plan::document::PlanDocument;
use torch_harness::report::record::{Held, RECORD_FILE, Record};
use torch_harness::report::verdict::Verdict;

/// Every attempt of every case in `run_dir` (retries used their slot too).
pub fn attempts(run_dir: &Path) -> Result<Vec<Record>> {
    let mut all = Vec::new();
    for entry in walkdir::WalkDir::new(run_dir).min_depth(3).max_depth(3) {
        let Ok(entry) = entry else { continue };
        if entry.file_name() == RECORD_FILE {
            all.push(Record::read(entry.path()).map_err(anyhow::Error::msg)?);
        }
    }
    Ok(all)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub case: String,
    pub attempt: u32,
    pub lane: usize,
    /// Seconds after the shard's first start.
    pub start: f64,
    pub seconds: f64,
    pub planned: Option<f64>,
    /// Runs alone: drawn across every lane of its shard.
    pub serial: bool,
    pub verdict: Verdict,
    /// How long it held the run alone and shared, when its record says.
    pub held: Option<Held>,
}

impl Bar {
    /// What the attempt asked of the machine: its record's holds, else its span,
    /// alone when the plan says it runs alone.
    pub fn work(&self) -> Work {
        match self.held {
            Some(h) => Work {
                alone: h.alone,
                shared: h.shared,
            },
            None if self.serial => Work {
                alone: self.seconds,
                shared: 0.0,
            },
            None => Work {
                alone: 0.0,
                shared: self.seconds,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ShardTimeline {
    pub label: String,
    pub predicted_seconds: Option<f64>,
    pub lanes: usize,
    pub bars: Vec<Bar>,
    /// From the first start to the last end.
    pub length: f64,
    /// Attempts whose record has no start and end (written before records had them).
    pub untimed: usize,
}

impl ShardTimeline {
    /// Slot-seconds spent in cases (running alone holds every slot).
    pub fn busy(&self) -> f64 {
        self.bars
            .iter()
            .map(|b| {
                let w = b.work();
                w.alone * self.lanes as f64 + w.shared
            })
            .sum()
    }

    /// The rules' bound for this shard's attempts on its slots (`bound`).
    pub fn bound(&self) -> Bound {
        let work: Vec<Work> = self.bars.iter().map(Bar::work).collect();
        bound(&work, self.lanes)
    }

    /// `wall 8.1 s, bound 5.0 s (alone 3.0 s + parallel 2.0 s on 3 slots): 1.62 of the
    /// bound; idle 65% of slot-time`.
    pub fn summary(&self) -> String {
        let b = self.bound();
        let ratio = b
            .ratio(self.length)
            .map_or_else(|| "-".to_string(), |r| format!("{r:.3}"));
        format!(
            "wall {:.1} s, bound {:.1} s (alone {:.1} s + parallel {:.1} s on {} slots): \
             {ratio} of the bound; idle {:.0}% of slot-time",
            self.length,
            b.seconds(),
            b.alone,
            b.packed,
            b.slots,
            100.0 * self.idle_fraction()
        )
    }

    /// The share of slot-time no case used, up to the shard's end.
    pub fn idle_fraction(&self) -> f64 {
        let capacity = self.length * self.lanes as f64;
        if capacity > 0.0 {
            (1.0 - self.busy() / capacity).max(0.0)
        } else {
            0.0
        }
    }

    /// Seconds from when the first lane finished its last case to the shard's end:
    /// the part of the run where not every worker had work.
    pub fn tail(&self) -> f64 {
        let mut last_end = vec![0.0_f64; self.lanes];
        for bar in &self.bars {
            let end = bar.start + bar.seconds;
            if bar.serial {
                last_end.iter_mut().for_each(|e| *e = e.max(end));
            } else if let Some(e) = last_end.get_mut(bar.lane) {
                *e = e.max(end);
            }
        }
        let first_done = last_end.iter().copied().fold(f64::INFINITY, f64::min);
        if first_done.is_finite() {
            self.length - first_done
        } else {
            0.0
        }
    }
}

/// One shard's run laid out: its label and predicted length from the plan when its
/// records carry this plan's mark, lanes from nextest's slots (or, for records without
/// one, packed in start order).
pub fn layout(dir: &Path, records: &[Record], plan: Option<&PlanDocument>) -> ShardTimeline {
    let timed: Vec<&Record> = records.iter().filter(|r| r.span.is_some()).collect();
    let untimed = records.len() - timed.len();
    let shard = plan.and_then(|p| {
        let marks: Vec<usize> = timed
            .iter()
            .filter_map(|r| r.plan.as_ref())
            .filter(|m| m.fingerprint == p.fingerprint)
            .map(|m| m.shard)
            .collect();
        let first = *marks.first()?;
        marks.iter().all(|&s| s == first).then_some(first)
    });
    let label = match (shard, plan) {
        (Some(s), Some(p)) => format!("shard {s}/{}", p.shard_count()),
        _ => dir
            .file_name()
            .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into()),
    };
    let predicted_seconds = shard
        .zip(plan)
        .and_then(|(s, p)| p.plan.shards.iter().find(|x| x.shard == s))
        .map(|s| s.predicted_seconds);
    let planned: BTreeMap<&str, (Option<f64>, bool)> = plan
        .map(|p| {
            p.cases
                .iter()
                .map(|c| (c.name.as_str(), (c.seconds, c.serial)))
                .collect()
        })
        .unwrap_or_default();

    let mut sorted = timed;
    sorted.sort_by(|a, b| {
        let (sa, sb) = (a.span.map(|s| s.started_at), b.span.map(|s| s.started_at));
        sa.partial_cmp(&sb)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.case.cmp(&b.case))
    });
    let t0 = sorted
        .iter()
        .filter_map(|r| r.span.map(|s| s.started_at))
        .fold(f64::INFINITY, f64::min);
    let slots: Vec<u32> = {
        let mut s: Vec<u32> = sorted.iter().filter_map(|r| r.span?.slot).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    // Lanes: one per slot nextest reported, then packed lanes for the rest.
    let mut lane_ends: Vec<f64> = vec![f64::NEG_INFINITY; slots.len()];
    let mut bars = Vec::new();
    for record in sorted {
        let Some(span) = record.span else { continue };
        let start = span.started_at - t0;
        let seconds = span.seconds();
        let lane = match span.slot.and_then(|s| slots.iter().position(|&x| x == s)) {
            Some(lane) => lane,
            None => {
                let free = (slots.len()..lane_ends.len()).find(|&l| lane_ends[l] <= start + 1e-6);
                free.unwrap_or_else(|| {
                    lane_ends.push(f64::NEG_INFINITY);
                    lane_ends.len() - 1
                })
            }
        };
        lane_ends[lane] = lane_ends[lane].max(start + seconds);
        let (planned_seconds, planned_serial) = planned
            .get(record.case.as_str())
            .copied()
            .unwrap_or((None, false));
        // Drawn across the lanes when it ran alone throughout, by its record or its plan.
        let serial = match record.held {
            Some(h) => h.alone > 0.0 && h.shared == 0.0,
            None => planned_serial,
        };
        bars.push(Bar {
            case: record.case.clone(),
            attempt: record.attempt,
            lane,
            start,
            seconds,
            planned: planned_seconds,
            serial,
            verdict: record.verdict.clone(),
            held: record.held,
        });
    }
    let length = bars.iter().map(|b| b.start + b.seconds).fold(0.0, f64::max);
    ShardTimeline {
        label,
        predicted_seconds,
        lanes: lane_ends.len().max(1),
        bars,
        length,
        untimed,
    }
}

const WIDTH: f64 = 1200.0;
const LEFT: f64 = 110.0;
const RIGHT: f64 = 20.0;
const LANE: f64 = 20.0;
const BAR: f64 = 13.0;
const HEADER: f64 = 22.0;
const GAP: f64 = 14.0;
const TOP: f64 = 64.0;

pub const PASSED: &str = "#43a047";
pub const FLAKY: &str = "#fb8c00";
pub const FAILED: &str = "#e53935";
pub const CRASHED: &str = "#6a1b9a";

fn colour(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed | Verdict::NoTestsCollected => PASSED,
        Verdict::Flaky { .. } => FLAKY,
        Verdict::Failed { .. } => FAILED,
        Verdict::Crashed { .. } | Verdict::TimedOut { .. } | Verdict::Interrupted { .. } => CRASHED,
    }
}

/// A tick step near a tenth of `span`: 1, 2 or 5 times a power of ten.
fn tick_step(span: f64) -> f64 {
    let rough = (span / 10.0).max(1e-3);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

/// The page: a heading with the run's totals, the SVG, and a table per shard.
pub fn render(shards: &[ShardTimeline], plan: Option<&PlanDocument>) -> String {
    // Wide enough for every end: actual, predicted, and planned past a short bar.
    let planned_end = |s: &ShardTimeline| {
        s.bars
            .iter()
            .map(|b| b.start + b.planned.unwrap_or(0.0))
            .fold(0.0, f64::max)
    };
    let longest = shards
        .iter()
        .map(|s| {
            s.length
                .max(s.predicted_seconds.unwrap_or(0.0))
                .max(planned_end(s))
        })
        .fold(0.0, f64::max)
        .max(1e-3);
    let scale = (WIDTH - LEFT - RIGHT) / longest;
    let x = |t: f64| LEFT + t * scale;
    let height = TOP
        + shards
            .iter()
            .map(|s| HEADER + s.lanes as f64 * LANE + GAP)
            .sum::<f64>()
        + 20.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" font-family="sans-serif" font-size="12">"#
    );
    legend(&mut svg);
    // The axis: seconds since each shard's first case started.
    let step = tick_step(longest);
    let mut t = 0.0;
    while t <= longest + 1e-9 {
        let _ = write!(
            svg,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2:.0}" stroke="#cfd8dc"/><text x="{0:.1}" y="{3}" text-anchor="middle" fill="#455a64">{4} s</text>"##,
            x(t),
            TOP - 6.0,
            height - 16.0,
            TOP - 10.0,
            trim(t)
        );
        t += step;
    }
    let mut y = TOP;
    for shard in shards {
        let band = shard.lanes as f64 * LANE;
        let predicted = shard
            .predicted_seconds
            .map(|p| format!(", predicted {p:.1} s"))
            .unwrap_or_default();
        let _ = write!(
            svg,
            r##"<text x="4" y="{:.0}" font-weight="bold">{}</text><text x="{LEFT}" y="{:.0}" fill="#37474f">{:.1} s{predicted}; {}; idle {:.0}% of slot-time; tail {:.1} s</text>"##,
            y + 15.0,
            escape(shard.label.as_str()),
            y + 15.0,
            shard.length,
            over_bound(shard),
            100.0 * shard.idle_fraction(),
            shard.tail()
        );
        let top = y + HEADER;
        for lane in 0..shard.lanes {
            let ly = top + lane as f64 * LANE;
            let _ = write!(
                svg,
                r##"<rect x="{LEFT}" y="{ly:.1}" width="{:.1}" height="{:.1}" fill="#eceff1"/><text x="{:.0}" y="{:.1}" text-anchor="end" fill="#78909c">slot {lane}</text>"##,
                shard.length * scale,
                LANE - 2.0,
                LEFT - 6.0,
                ly + 13.0
            );
        }
        let tail = shard.tail();
        if tail > 0.0 {
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="#e53935" fill-opacity="0.12"><title>tail: {:.1} s with a slot idle</title></rect>"##,
                x(shard.length - tail),
                tail * scale,
                band - 2.0,
                tail
            );
        }
        for bar in &shard.bars {
            bar_svg(&mut svg, bar, top, band, &x, scale);
        }
        if let Some(p) = shard.predicted_seconds {
            let _ = write!(
                svg,
                r##"<line x1="{0:.1}" y1="{1:.1}" x2="{0:.1}" y2="{2:.1}" stroke="#1565c0" stroke-width="2" stroke-dasharray="5,3"><title>predicted end: {p:.1} s</title></line>"##,
                x(p),
                top - 4.0,
                top + band
            );
        }
        y = top + band + GAP;
    }
    svg.push_str("</svg>");
    page(shards, plan, &svg)
}

fn bar_svg(svg: &mut String, bar: &Bar, top: f64, band: f64, x: &dyn Fn(f64) -> f64, scale: f64) {
    let (by, bh) = if bar.serial {
        (top + 1.0, band - 8.0)
    } else {
        (top + bar.lane as f64 * LANE + 1.0, BAR)
    };
    let planned = bar
        .planned
        .map(|p| format!(", planned {p:.1} s"))
        .unwrap_or_default();
    let attempt = if bar.attempt > 1 {
        format!(" (attempt {})", bar.attempt)
    } else {
        String::new()
    };
    let alone = if bar.serial { ", runs alone" } else { "" };
    let title = format!(
        "{}{attempt}: {}, {:.1} s{planned}{alone}; from {:.1} s",
        bar.case,
        bar.verdict.describe(),
        bar.seconds,
        bar.start
    );
    let _ = write!(
        svg,
        r##"<g><title>{}</title><rect x="{:.2}" y="{by:.1}" width="{:.2}" height="{bh:.1}" fill="{}" stroke="#ffffff" stroke-width="0.5"/>"##,
        escape(title.as_str()),
        x(bar.start),
        (bar.seconds * scale).max(1.0),
        colour(&bar.verdict)
    );
    // The case's name inside a bar wide enough to hold some of it.
    let width = bar.seconds * scale;
    let fits = ((width - 6.0) / 6.2).floor() as usize;
    if fits >= 6 {
        let name: String = if bar.case.chars().count() > fits {
            let mut cut: String = bar.case.chars().take(fits - 1).collect();
            cut.push('…');
            cut
        } else {
            bar.case.clone()
        };
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#ffffff">{}</text>"##,
            x(bar.start) + 3.0,
            by + 10.0,
            escape(name.as_str())
        );
    }
    if let Some(p) = bar.planned {
        let _ = write!(
            svg,
            r##"<rect x="{:.2}" y="{:.1}" width="{:.2}" height="3" fill="#263238"/>"##,
            x(bar.start),
            by + bh + 1.0,
            (p * scale).max(1.0)
        );
    }
    svg.push_str("</g>");
}

fn legend(svg: &mut String) {
    let items = [
        (PASSED, "passed"),
        (FLAKY, "flaky"),
        (FAILED, "failed"),
        (CRASHED, "crashed / timed out"),
    ];
    let mut lx = LEFT;
    for (fill, name) in items {
        let _ = write!(
            svg,
            r##"<rect x="{lx}" y="8" width="14" height="10" fill="{fill}"/><text x="{}" y="17">{name}</text>"##,
            lx + 18.0
        );
        lx += 36.0 + 7.0 * name.len() as f64;
    }
    let _ = write!(
        svg,
        r##"<rect x="{lx}" y="14" width="30" height="3" fill="#263238"/><text x="{}" y="17">planned length</text>"##,
        lx + 36.0
    );
    lx += 150.0;
    let _ = write!(
        svg,
        r##"<line x1="{lx}" y1="13" x2="{}" y2="13" stroke="#1565c0" stroke-width="2" stroke-dasharray="5,3"/><text x="{}" y="17">predicted end</text>"##,
        lx + 30.0,
        lx + 36.0
    );
    lx += 140.0;
    let _ = write!(
        svg,
        r##"<rect x="{lx}" y="8" width="30" height="10" fill="#e53935" fill-opacity="0.12"/><text x="{}" y="17">tail (a slot idle)</text>"##,
        lx + 36.0
    );
}

fn page(shards: &[ShardTimeline], plan: Option<&PlanDocument>, svg: &str) -> String {
    let longest = shards.iter().map(|s| s.length).fold(0.0, f64::max);
    let shortest = shards
        .iter()
        .map(|s| s.length)
        .fold(f64::INFINITY, f64::min);
    let slot_time: f64 = shards.iter().map(|s| longest * s.lanes as f64).sum();
    let busy: f64 = shards.iter().map(ShardTimeline::busy).sum();
    let idle = if slot_time > 0.0 {
        100.0 * (1.0 - busy / slot_time).max(0.0)
    } else {
        0.0
    };
    let plan_line = plan
        .map(|p| {
            format!(
                " Plan {} (lower bound {:.1} s).",
                p.fingerprint.get(..12).unwrap_or(&p.fingerprint),
                p.plan.lower_bound_seconds
            )
        })
        .unwrap_or_default();
    let untimed: usize = shards.iter().map(|s| s.untimed).sum();
    let untimed_line = if untimed > 0 {
        format!(" {untimed} attempts have no start and end in their record and are not drawn.")
    } else {
        String::new()
    };
    let mut rows = String::new();
    for s in shards {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}%</td><td>{:.1}</td></tr>",
            escape(s.label.as_str()),
            s.bars.len(),
            s.length,
            s.bound().seconds(),
            s.bound()
                .ratio(s.length)
                .map_or_else(|| "-".to_string(), |r| format!("{r:.3}")),
            s.predicted_seconds
                .map_or_else(|| "-".to_string(), |p| format!("{p:.1}")),
            s.lanes,
            100.0 * s.idle_fraction(),
            s.tail()
        );
    }
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>torch-nextest run timeline</title>
<style>body{{font-family:sans-serif;margin:12px;color:#263238}}table{{border-collapse:collapse;margin-top:8px}}td,th{{padding:2px 10px;text-align:right;border-bottom:1px solid #eceff1}}th{{text-align:right}}p{{margin:4px 0}}</style>
</head><body>
<p><b>{} shard{}</b>: longest {longest:.1} s, shortest {:.1} s; {idle:.0}% of the slots' time until the longest shard ended was idle.{plan_line}{untimed_line} Hover a bar for its case.</p>
{svg}
<table><tr><th>shard</th><th>attempts</th><th>seconds</th><th>bound s</th><th>wall / bound</th><th>predicted</th><th>slots</th><th>idle</th><th>tail s</th></tr>{rows}</table>
</body></html>
"#,
        shards.len(),
        if shards.len() == 1 { "" } else { "s" },
        if shortest.is_finite() { shortest } else { 0.0 },
    )
}

/// `1.62 of the rules' bound (5.0 s)`, for a shard's heading.
fn over_bound(shard: &ShardTimeline) -> String {
    let b = shard.bound();
    match b.ratio(shard.length) {
        Some(r) => format!("{r:.2} of the rules' bound ({:.1} s)", b.seconds()),
        None => "no bound".into(),
    }
}

/// `12`, `2.5`: tick labels without trailing zeros.
fn trim(t: f64) -> String {
    let s = format!("{t:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The plan the records name, when they all name one and its file is still there with
/// the same fingerprint (a report on the machine that ran the shard).
fn plan_named_by<'a>(records: impl IntoIterator<Item = &'a Record>) -> Option<PlanDocument> {
    let mut marks = records.into_iter().filter_map(|r| r.plan.as_ref());
    let first = marks.next()?;
    if marks.any(|m| m.fingerprint != first.fingerprint) {
        return None;
    }
    let doc = PlanDocument::read(first.file.as_deref()?).ok()?;
    (doc.fingerprint == first.fingerprint).then_some(doc)
}

/// Lays out every run and writes the page to `out`, returning the shards as laid out.
/// Without `plan`, the plan the records name gives the planned lengths, if it can be
/// found.
pub fn write(
    runs: &[PathBuf],
    plan: Option<&PlanDocument>,
    out: &Path,
) -> Result<Vec<ShardTimeline>> {
    let mut all = Vec::new();
    for dir in runs {
        all.push((dir, attempts(dir)?));
    }
    let found = match plan {
        Some(_) => None,
        None => plan_named_by(all.iter().flat_map(|(_, records)| records)),
    };
    let plan = plan.or(found.as_ref());
    let mut shards = Vec::new();
    for (dir, records) in &all {
        shards.push(layout(dir, records, plan));
    }
    // Shards in plan order when labelled by it, else in the order given.
    shards.sort_by_key(|s| {
        s.label
            .strip_prefix("shard ")
            .and_then(|r| r.split('/').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    let html = render(&shards, plan);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(out, html).with_context(|| format!("writing {}", out.display()))?;
    Ok(shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use torch_harness::report::record::Span;

    fn record(case: &str, start: f64, end: f64, slot: Option<u32>) -> Record {
        Record {
            wall_seconds: end - start,
            span: Some(Span {
                started_at: 1_000.0 + start,
                ended_at: 1_000.0 + end,
                slot,
            }),
            ..Record::new(case, Verdict::Passed)
        }
    }

    #[test]
    fn slots_become_lanes_and_idle_time_and_tail_add_up() {
        let records = [
            record("a", 0.0, 10.0, Some(0)),
            record("b", 20.0, 50.0, Some(0)),
            record("c", 0.0, 60.0, Some(1)),
        ];
        let shard = layout(Path::new("runs/one"), &records, None);
        assert_eq!(shard.label, "one");
        assert_eq!(shard.lanes, 2);
        assert_eq!(shard.length, 60.0);
        let lanes: Vec<(&str, usize, f64)> = shard
            .bars
            .iter()
            .map(|b| (b.case.as_str(), b.lane, b.start))
            .collect();
        assert_eq!(lanes, [("a", 0, 0.0), ("c", 1, 0.0), ("b", 0, 20.0)]);
        // 120 slot-seconds, 100 of them busy; slot 0 is done at 50 s of 60.
        assert!((shard.idle_fraction() - 20.0 / 120.0).abs() < 1e-9);
        assert!((shard.tail() - 10.0).abs() < 1e-9);
    }

    fn held(mut r: Record, alone: f64, shared: f64) -> Record {
        r.held = Some(Held { alone, shared });
        r
    }

    #[test]
    fn the_bound_takes_run_alone_holds_in_turn_and_packs_the_rest() {
        // A serial file alone for 4 s, then a file whose @serialTest phase took 1 s and
        // the rest 3 s beside files of 6, 5 and 2 s, on 3 slots; the last ends at 12 s.
        let records = [
            held(record("s", 0.0, 4.0, Some(0)), 4.0, 0.0),
            held(record("m", 4.0, 8.0, Some(0)), 1.0, 3.0),
            held(record("a", 5.0, 11.0, Some(1)), 0.0, 6.0),
            held(record("b", 5.0, 10.0, Some(2)), 0.0, 5.0),
            held(record("c", 10.0, 12.0, Some(0)), 0.0, 2.0),
        ];
        let shard = layout(Path::new("runs/one"), &records, None);
        // By hand: alone 4 + 1 = 5; 6, 5, 3, 2 longest first on 3 slots: 6 | 5 | 3 + 2,
        // so 6; bound 11, wall 12. Busy: 5 s alone on 3 slots + 16 s shared = 31 of 36.
        let b = shard.bound();
        assert_eq!((b.alone, b.packed, b.seconds()), (5.0, 6.0, 11.0));
        assert_eq!(
            shard.summary(),
            "wall 12.0 s, bound 11.0 s (alone 5.0 s + parallel 6.0 s on 3 slots): \
             1.091 of the bound; idle 14% of slot-time"
        );
        let serial: Vec<&str> = shard
            .bars
            .iter()
            .filter(|b| b.serial)
            .map(|b| b.case.as_str())
            .collect();
        assert_eq!(
            serial,
            ["s"],
            "only the case that held the run alone throughout"
        );
        let html = render(&[shard], None);
        assert!(html.contains("1.09 of the rules' bound (11.0 s)"), "{html}");
    }

    #[test]
    fn records_without_slots_are_packed_into_as_few_lanes_as_overlap() {
        let records = [
            record("a", 0.0, 10.0, None),
            record("b", 5.0, 15.0, None),
            record("c", 10.0, 20.0, None),
            record("d", 12.0, 14.0, None),
        ];
        let shard = layout(Path::new("x"), &records, None);
        let lanes: BTreeMap<&str, usize> = shard
            .bars
            .iter()
            .map(|b| (b.case.as_str(), b.lane))
            .collect();
        assert_eq!(lanes["a"], 0);
        assert_eq!(lanes["b"], 1);
        assert_eq!(lanes["c"], 0, "a has ended when c starts");
        assert_eq!(lanes["d"], 2);
        assert_eq!(shard.lanes, 3);
    }

    #[test]
    fn the_page_names_every_case_and_escapes_it() {
        let mut odd = record("a<b>&c", 0.0, 4.0, Some(0));
        odd.verdict = Verdict::Failed { exit_code: 1 };
        let shard = layout(Path::new("runs/one"), &[odd], None);
        let html = render(&[shard], None);
        assert!(
            html.contains("a&lt;b&gt;&amp;c: exited with code 1, 4.0 s"),
            "{html}"
        );
        assert!(html.contains(FAILED));
        assert!(!html.contains("a<b>"));
    }

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(60.0), 10.0);
        assert_eq!(tick_step(812.0), 100.0);
        assert_eq!(tick_step(3.0), 0.5);
        assert_eq!(trim(2.5), "2.5");
        assert_eq!(trim(20.0), "20");
    }
}
