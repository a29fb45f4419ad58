//! CPU time and peak memory of the processes under test, from `/proc`.
//!
//! CPU is `utime + stime` of `/proc/<pid>/stat`, which counts every thread the process ever had,
//! so a tokio worker or a PostgreSQL backend is counted whether or not it is still alive at the
//! end. PostgreSQL's share is the sum over every process named `postgres`: the backends serving
//! the connections and the background workers alike.

use std::fs;

/// Clock ticks per second of `utime`/`stime`; Linux reports them in `USER_HZ`, 100 on every
/// architecture it runs on.
const TICKS_PER_SECOND: u64 = 100;

/// The CPU time of one process so far, in microseconds, or `None` when it is gone.
pub(crate) fn cpu_us(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = fields.split_whitespace().collect();
    // After the `(comm)` field: state is field 3 of the stat line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 1_000_000 / TICKS_PER_SECOND)
}

/// The summed CPU time of every process whose name is `name`.
pub(crate) fn cpu_us_of_all(name: &str) -> u64 {
    let Ok(entries) = fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == name)
        })
        .filter_map(cpu_us)
        .sum()
}

/// Resets the process's peak resident set (`VmHWM`) to its current size, so the next reading is
/// the peak of what follows. Allowed for a process of the same user; a failure only means the
/// peak is the process's lifetime peak.
pub(crate) fn reset_peak_rss(pid: u32) {
    let _ = fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// The peak resident set since the last reset, in KiB.
pub(crate) fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        // Burn a little CPU so the reading has something to show beyond a tick.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        assert!(cpu_us(me).is_some_and(|us| us > 0));
        assert!(peak_rss_kib(me).is_some_and(|kib| kib > 0));
        assert_eq!(cpu_us(u32::MAX), None);
    }
}
