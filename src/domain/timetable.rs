//! The timetable's layout: where each session of one conference-local day
//! goes in a grid with a column per room and time running down in
//! five-minute rows. Pure (no HTML, no store), so the rules that are easy
//! to get wrong are tested here: overlapping talks in one room, talks that
//! run past midnight, and days of 23 or 25 hours.
//!
//! Rows are *real* time: row `k` starts `5·k` minutes after the grid's
//! first instant, counted in UTC. A block's height therefore always follows
//! the session's true duration, also across a daylight-saving change, where
//! the local hour labels ([`Grid::marks`]) skip or repeat an hour. Columns
//! are rooms; a room where sessions overlap gets one sub-column ("lane")
//! per session running at the same time, so no two blocks ever cover the
//! same cell.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use super::localtime::local_day_bounds;

/// Minutes per grid row.
pub const SLOT_MINUTES: i64 = 5;
/// The longest grid: a day plus twelve hours past midnight (sessions that
/// run longer are cut at its end and say so, [`Block::cut_after`]).
pub const MAX_ROWS: u32 = 36 * 60 / SLOT_MINUTES as u32;
/// The most sub-columns a grid has, rooms and lanes together (the grid's
/// stylesheet has a class for each).
pub const MAX_COLUMNS: u32 = 80;

/// A session to place: its instants and its room (`None`: no room given).
#[derive(Debug, Clone)]
pub struct Item<'a> {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub room: Option<&'a str>,
}

/// One room's column(s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub room: Option<String>,
    /// First sub-column, 0-based.
    pub first: u32,
    /// Sub-columns: the most sessions of this room at one time.
    pub lanes: u32,
}

/// Where one item goes: rows and sub-columns, 0-based, half-open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Index into the items given to [`lay_out`].
    pub item: usize,
    pub row: u32,
    /// Rows covered, at least one (an event of no length still shows).
    pub rows: u32,
    pub column: u32,
    pub columns: u32,
    /// It runs past the grid's last row (only sessions longer than
    /// [`MAX_ROWS`] allows).
    pub cut_after: bool,
}

/// A local hour's first row, labelled with its local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub row: u32,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Grid {
    /// The first row's instant, the start of a local hour.
    pub start: DateTime<Utc>,
    pub rows: u32,
    pub columns: Vec<Column>,
    /// In time order (then by column): the order a screen reader and the
    /// narrow-screen list read them in.
    pub blocks: Vec<Block>,
    pub marks: Vec<Mark>,
}

impl Grid {
    /// Sub-columns in all.
    pub fn width(&self) -> u32 {
        self.columns.last().map_or(0, |c| c.first + c.lanes)
    }
}

/// The start of the local hour `t` falls in (for zones whose offset is not
/// whole hours, still a local `:00`), not before `floor`.
fn local_hour_floor(t: DateTime<Utc>, tz: Tz, floor: DateTime<Utc>) -> DateTime<Utc> {
    let local = t.with_timezone(&tz).naive_local();
    let hour = local.date().and_time(NaiveTime::MIN) + Duration::hours(local.hour().into());
    // The earlier of a repeated hour keeps `t` inside the grid; an hour
    // that does not exist (a gap) starts at the gap's end, which `t`
    // cannot be before.
    let start = match tz.from_local_datetime(&hour).earliest() {
        Some(s) => s.with_timezone(&Utc),
        None => t - Duration::minutes((t.timestamp() / 60).rem_euclid(60)),
    };
    start.max(floor).min(t)
}

fn slot_of(t: DateTime<Utc>, start: DateTime<Utc>) -> i64 {
    (t - start).num_seconds().div_euclid(SLOT_MINUTES * 60)
}

fn slot_ceil(t: DateTime<Utc>, start: DateTime<Utc>) -> i64 {
    let s = (t - start).num_seconds();
    let w = SLOT_MINUTES * 60;
    (s + w - 1).div_euclid(w)
}

/// Lays out the sessions of local `day` (all starting on it, as the
/// store's `day=` filter selects them) in `tz`.
pub fn lay_out(day: NaiveDate, tz: Tz, items: &[Item]) -> Grid {
    let (day_start, _) = local_day_bounds(day, tz);
    let Some(first) = items.iter().map(|i| i.start).min() else {
        return Grid {
            start: day_start,
            rows: 0,
            columns: Vec::new(),
            blocks: Vec::new(),
            marks: Vec::new(),
        };
    };
    let start = local_hour_floor(first, tz, day_start);
    let slot = Duration::minutes(SLOT_MINUTES);
    let last = items
        .iter()
        .map(|i| i.end.max(i.start + slot))
        .max()
        .unwrap_or(first + slot);
    // Whole hours of real time, at most MAX_ROWS.
    let per_hour = 60 / SLOT_MINUTES;
    let hours = (slot_ceil(last, start) + per_hour - 1) / per_hour;
    let rows = (hours * (60 / SLOT_MINUTES)).clamp(1, MAX_ROWS as i64) as u32;

    // Rooms in a stable, human order; sessions without a room last.
    let mut rooms: Vec<Option<&str>> = items.iter().map(|i| i.room).collect();
    rooms.sort_by_key(|r| (r.is_none(), r.map(str::to_lowercase)));
    rooms.dedup_by(|a, b| a.map(str::to_lowercase) == b.map(str::to_lowercase));

    let mut columns = Vec::new();
    let mut blocks = Vec::new();
    let mut next_col = 0u32;
    for room in rooms {
        let key = room.map(str::to_lowercase);
        // (item, first row, end row) of this room, by start then end.
        let mut here: Vec<(usize, u32, u32, bool)> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.room.map(str::to_lowercase) == key)
            .map(|(n, i)| {
                let a = slot_of(i.start, start).clamp(0, rows as i64 - 1) as u32;
                let b = slot_ceil(i.end, start).max(a as i64 + 1);
                let cut = b > rows as i64;
                (n, a, b.min(rows as i64) as u32, cut)
            })
            .collect();
        here.sort_by_key(|&(n, a, b, _)| (a, b, n));
        // Lanes: each block takes the first lane free at its start; a
        // cluster is a run of blocks connected by overlaps, and a block
        // alone in its cluster spans every lane of the room.
        let mut placed: Vec<(usize, u32, u32, u32, bool, usize)> = Vec::new(); // + lane, cluster
        let mut lane_ends: Vec<u32> = Vec::new();
        let mut cluster_lanes: Vec<u32> = Vec::new();
        let mut cluster_end = 0u32;
        for &(n, a, b, cut) in &here {
            if placed.is_empty() || a >= cluster_end {
                cluster_lanes.push(0);
                lane_ends.clear();
                cluster_end = 0;
            }
            let lane = match lane_ends.iter().position(|&e| e <= a) {
                Some(l) => {
                    lane_ends[l] = b;
                    l
                }
                None => {
                    lane_ends.push(b);
                    lane_ends.len() - 1
                }
            } as u32;
            cluster_end = cluster_end.max(b);
            let c = cluster_lanes.len() - 1;
            cluster_lanes[c] = cluster_lanes[c].max(lane + 1);
            placed.push((n, a, b, lane, cut, c));
        }
        let lanes = cluster_lanes.iter().copied().max().unwrap_or(1);
        for (n, a, b, lane, cut, c) in placed {
            let (column, width) = if cluster_lanes[c] == 1 {
                (next_col, lanes)
            } else {
                (next_col + lane, 1)
            };
            blocks.push(Block {
                item: n,
                row: a,
                rows: b - a,
                column,
                columns: width,
                cut_after: cut,
            });
        }
        columns.push(Column {
            room: room.map(str::to_owned),
            first: next_col,
            lanes,
        });
        next_col += lanes;
    }
    blocks.sort_by_key(|b| (items[b.item].start, b.column, items[b.item].end, b.item));

    let marks = (0..rows)
        .filter_map(|row| {
            let at = start + slot * row as i32;
            (at.with_timezone(&tz).minute() == 0).then_some(Mark { row, at })
        })
        .collect();
    Grid {
        start,
        rows,
        columns,
        blocks,
        marks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::localtime::parse_local;

    fn la() -> Tz {
        "America/Los_Angeles".parse().unwrap()
    }

    fn at(s: &str, tz: Tz) -> DateTime<Utc> {
        parse_local(s, tz).unwrap()
    }

    fn item<'a>(a: &str, b: &str, room: Option<&'a str>, tz: Tz) -> Item<'a> {
        Item {
            start: at(a, tz),
            end: at(b, tz),
            room,
        }
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// No two blocks share a cell, and every block lies inside the grid.
    fn assert_no_overlap(g: &Grid) {
        for (i, a) in g.blocks.iter().enumerate() {
            assert!(a.row + a.rows <= g.rows && a.column + a.columns <= g.width());
            for b in &g.blocks[i + 1..] {
                let rows = a.row < b.row + b.rows && b.row < a.row + a.rows;
                let cols = a.column < b.column + b.columns && b.column < a.column + a.columns;
                assert!(!(rows && cols), "{a:?} and {b:?} overlap");
            }
        }
    }

    #[test]
    fn rows_follow_duration_and_columns_are_rooms() {
        let tz = la();
        // PyCon US 2012, Friday 9 March, as the seed has it.
        let items = [
            item("2012-03-09T14:00", "2012-03-09T14:40", Some("E2"), tz),
            item("2012-03-09T12:10", "2012-03-09T12:55", Some("E1"), tz),
            item("2012-03-09T13:35", "2012-03-09T14:05", Some("E3"), tz),
            item("2012-03-09T12:10", "2012-03-09T12:55", Some("e2"), tz),
        ];
        let g = lay_out(day("2012-03-09"), tz, &items);
        assert_eq!(g.start, at("2012-03-09T12:00", tz));
        // 12:00 to 15:00: three hours of five-minute rows.
        assert_eq!(g.rows, 36);
        let rooms: Vec<_> = g.columns.iter().map(|c| c.room.clone().unwrap()).collect();
        assert_eq!(rooms, ["E1", "E2", "E3"], "rooms match without case");
        let b = |n: usize| g.blocks.iter().find(|b| b.item == n).unwrap().clone();
        assert_eq!((b(0).row, b(0).rows, b(0).column), (24, 8, 1));
        assert_eq!((b(1).row, b(1).rows, b(1).column), (2, 9, 0));
        assert_eq!((b(2).row, b(2).rows, b(2).column), (19, 6, 2));
        // Not overlapping in time: the E2 talks both span E2's one lane.
        assert_eq!((b(3).row, b(3).column, b(3).columns), (2, 1, 1));
        // Time order, then column order.
        let order: Vec<usize> = g.blocks.iter().map(|b| b.item).collect();
        assert_eq!(order, [1, 3, 2, 0]);
        let hours: Vec<u32> = g.marks.iter().map(|m| m.row).collect();
        assert_eq!(hours, [0, 12, 24]);
        assert_no_overlap(&g);
    }

    #[test]
    fn overlapping_talks_in_a_room_get_lanes() {
        let tz = la();
        let items = [
            item("2012-03-09T09:00", "2012-03-09T10:00", Some("A"), tz),
            item("2012-03-09T09:30", "2012-03-09T10:30", Some("A"), tz),
            item("2012-03-09T09:45", "2012-03-09T09:50", Some("A"), tz),
            item("2012-03-09T11:00", "2012-03-09T12:00", Some("A"), tz),
            item("2012-03-09T09:00", "2012-03-09T09:00", Some("B"), tz),
            item("2012-03-09T09:00", "2012-03-09T09:30", Some("B"), tz),
            item("2012-03-09T09:00", "2012-03-09T10:00", None, tz),
        ];
        let g = lay_out(day("2012-03-09"), tz, &items);
        assert_no_overlap(&g);
        let cols: Vec<(Option<&str>, u32, u32)> = g
            .columns
            .iter()
            .map(|c| (c.room.as_deref(), c.first, c.lanes))
            .collect();
        assert_eq!(cols, [(Some("A"), 0, 3), (Some("B"), 3, 2), (None, 5, 1)]);
        let b = |n: usize| g.blocks.iter().find(|b| b.item == n).unwrap().clone();
        assert_eq!((b(0).column, b(0).columns), (0, 1));
        assert_eq!((b(1).column, b(1).columns), (1, 1));
        assert_eq!((b(2).column, b(2).columns), (2, 1));
        // Alone at 11:00, it spans the room's three lanes.
        assert_eq!((b(3).column, b(3).columns), (0, 3));
        // An event of no length still takes a row, beside the one that
        // starts with it.
        assert_eq!((b(4).rows, b(4).column), (1, 3));
        assert_eq!((b(5).rows, b(5).column), (6, 4));
        assert_eq!(g.width(), 6);
    }

    #[test]
    fn talks_past_midnight_run_on_below_the_day() {
        let tz = la();
        let items = [
            item("2012-03-09T22:00", "2012-03-09T23:00", Some("A"), tz),
            item("2012-03-09T23:30", "2012-03-10T01:15", Some("A"), tz),
        ];
        let g = lay_out(day("2012-03-09"), tz, &items);
        assert_eq!(g.start, at("2012-03-09T22:00", tz));
        // 22:00 to 02:00 the next day.
        assert_eq!(g.rows, 48);
        let late = g.blocks.iter().find(|b| b.item == 1).unwrap();
        assert_eq!((late.row, late.rows, late.cut_after), (18, 21, false));
        let labels: Vec<String> = g
            .marks
            .iter()
            .map(|m| m.at.with_timezone(&tz).format("%d %H:%M").to_string())
            .collect();
        assert_eq!(labels, ["09 22:00", "09 23:00", "10 00:00", "10 01:00"]);
        assert_no_overlap(&g);
    }

    #[test]
    fn a_23_hour_day_draws_real_durations() {
        let tz = la();
        // 2012-03-11: 02:00 does not exist in Los Angeles.
        let items = [
            item("2012-03-11T00:30", "2012-03-11T01:30", Some("A"), tz),
            item("2012-03-11T01:30", "2012-03-11T03:30", Some("B"), tz),
            item("2012-03-11T03:00", "2012-03-11T04:00", Some("A"), tz),
        ];
        let g = lay_out(day("2012-03-11"), tz, &items);
        assert_eq!(g.start, at("2012-03-11T00:00", tz));
        let b = |n: usize| g.blocks.iter().find(|b| b.item == n).unwrap().clone();
        // 01:30 to 03:30 local is one real hour: 12 rows, not 24.
        assert_eq!((b(1).row, b(1).rows), (18, 12));
        // 03:00 local is 02:00 after midnight in real time.
        assert_eq!((b(2).row, b(2).rows), (24, 12));
        // The hour labels skip 2am.
        let labels: Vec<u32> = g
            .marks
            .iter()
            .map(|m| m.at.with_timezone(&tz).hour())
            .collect();
        assert_eq!(labels, [0, 1, 3]);
        assert_eq!(g.rows, 36);
        assert_no_overlap(&g);
    }

    #[test]
    fn a_25_hour_day_repeats_an_hour() {
        let tz = la();
        // 2012-11-04: 01:00 to 02:00 happens twice.
        let items = [
            item("2012-11-04T00:30", "2012-11-04T03:00", Some("A"), tz),
            Item {
                start: at("2012-11-04T01:30-08:00", tz),
                end: at("2012-11-04T02:00", tz),
                room: Some("B"),
            },
        ];
        let g = lay_out(day("2012-11-04"), tz, &items);
        let b = |n: usize| g.blocks.iter().find(|b| b.item == n).unwrap().clone();
        // 00:30 to 03:00 local is three and a half real hours.
        assert_eq!((b(0).row, b(0).rows), (6, 42));
        // The second 01:30 is 2.5 real hours after midnight.
        assert_eq!((b(1).row, b(1).rows), (30, 6));
        let labels: Vec<u32> = g
            .marks
            .iter()
            .map(|m| m.at.with_timezone(&tz).hour())
            .collect();
        assert_eq!(labels, [0, 1, 1, 2]);
        assert_no_overlap(&g);
    }

    #[test]
    fn half_hour_zones_start_on_a_local_hour() {
        let tz: Tz = "Asia/Kolkata".parse().unwrap();
        let items = [item("2012-03-09T09:15", "2012-03-09T10:00", Some("A"), tz)];
        let g = lay_out(day("2012-03-09"), tz, &items);
        assert_eq!(g.start, at("2012-03-09T09:00", tz));
        assert_eq!((g.blocks[0].row, g.blocks[0].rows), (3, 9));
        assert_eq!(g.rows, 12);
    }

    #[test]
    fn very_long_sessions_are_cut_and_empty_days_are_empty() {
        let tz = la();
        let items = [item("2012-03-09T09:00", "2012-03-12T09:00", Some("A"), tz)];
        let g = lay_out(day("2012-03-09"), tz, &items);
        assert_eq!(g.rows, MAX_ROWS);
        assert!(g.blocks[0].cut_after);
        assert_eq!(g.blocks[0].rows, MAX_ROWS);
        let e = lay_out(day("2012-03-09"), tz, &[]);
        assert_eq!((e.rows, e.blocks.len(), e.width()), (0, 0, 0));
    }
}
