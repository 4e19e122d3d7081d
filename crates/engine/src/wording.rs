//! Everything the engine says to people and models, in one place.

use crate::agents::Reachability;
use crate::ids::RelayId;
use crate::mode::Mode;
use crate::shown;
use crate::stats::EngineStats;

/// Whether a failure is certain, or the engine only stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Certainty {
    Definite,
    Uncertain,
}

const TITLE_CHARS: usize = 60;
const PREVIEW_CHARS: usize = 120;

/// First line of `text`, whitespace folded, cut to `max` characters. It
/// goes into titles and toasts, so control characters and bidi overrides
/// count as spaces: they could garble a terminal or reorder the line.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let folded = text
        .lines()
        .map(|line| {
            line.split(|c: char| c.is_whitespace() || c.is_control() || is_bidi_control(c))
                .filter(|word| !word.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if folded.chars().count() <= max {
        folded
    } else {
        let cut: String = folded.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    }
}

/// Marks that change the direction of the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `fork 2/3 · build · Implement using Redux`; a lone branch has no count.
pub(crate) fn branch_title(mode: Mode, index: u32, total: u32, agent: &str, text: &str) -> String {
    let count = if total > 1 {
        format!(" {index}/{total}")
    } else {
        String::new()
    };
    format!("{mode}{count} · {agent} · {}", preview(text, TITLE_CHARS))
}

/// The permission pattern a hand-off is checked against, e.g. `fork → build`.
pub(crate) fn permission_pattern(mode: Mode, agent: &str) -> String {
    format!("{mode} → {agent}")
}

pub(crate) fn compaction_note(caller: &str, agent: &str) -> String {
    if caller == agent {
        format!("[Session compacted at {caller}'s request — {agent} continues]")
    } else {
        format!("[Session compacted — {caller} handed over to {agent}]")
    }
}

pub(crate) fn queued_message(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay} for {agent}{}: when your turn ends, your text arrives in this session as a user message and {agent} answers it. End your turn now; the reply will not come back to you inside this turn.",
        after(backlog)
    )
}

pub(crate) fn queued_compact(relay: RelayId, agent: &str, backlog: usize) -> String {
    format!(
        "Queued as {relay}{}: when your turn ends, this session is summarized, then {agent} answers your text on the summary. End your turn now.",
        after(backlog)
    )
}

fn after(backlog: usize) -> String {
    match backlog {
        0 => String::new(),
        1 => " (after 1 earlier hand-off)".to_owned(),
        n => format!(" (after {n} earlier hand-offs)"),
    }
}

pub(crate) fn started_new(agent: &str, session_id: &str, title: &str, shown: bool) -> String {
    format!(
        "Started a new session {session_id} \"{title}\" without this conversation's history; {agent} is answering there now. {} This session goes on here.",
        follow(shown)
    )
}

pub(crate) fn started_fork(agent: &str, session_id: &str, title: &str, shown: bool) -> String {
    format!(
        "Forked this session into {session_id} \"{title}\" with the full history; {agent} is answering there now. {} This session goes on here.",
        follow(shown)
    )
}

fn follow(shown: bool) -> &'static str {
    if shown {
        "The TUI switches to it; /sessions leads back here."
    } else {
        "It runs on its own: open it by title from /sessions to follow it."
    }
}

pub(crate) fn mode_disabled(mode: Mode, enabled: &[Mode]) -> String {
    let enabled: Vec<&str> = enabled.iter().map(|m| m.as_str()).collect();
    format!(
        "Mode \"{mode}\" is turned off in this project's opencode-sessions options. Modes you can use: {}. Nothing was sent.",
        enabled.join(", ")
    )
}

pub(crate) fn agent_not_allowed(agent: &str, allowed: &[String]) -> String {
    format!(
        "Agent \"{agent}\" is not among the agents this project's opencode-sessions options allow: {}. Nothing was sent.",
        allowed.join(", ")
    )
}

pub(crate) fn queued_from_subagent(mode: Mode) -> String {
    format!(
        "Mode \"{mode}\" is not available inside a subagent task: the task ends with your turn and nobody would read the answer. Return your result instead, or use new or fork. Nothing was sent."
    )
}

pub(crate) fn hop_limit(max_hops: u32) -> String {
    format!(
        "Refused: agents have handed work to each other {max_hops} times since a person last wrote in this session (or the one it branched from) (limit maxHops = {max_hops}). Finish your turn and report where things stand; a person's message lets the agents go on. Nothing was sent."
    )
}

pub(crate) fn permission_denied(pattern: &str, reason: &str) -> String {
    format!("Permission \"session\" refused \"{pattern}\": {reason} Nothing was sent.")
}

pub(crate) fn permission_unanswered(pattern: &str, timeout_ms: u64) -> String {
    format!(
        "Nobody answered the permission prompt for \"{pattern}\" within {} min. Nothing was sent; ask again when someone is there.",
        timeout_ms.div_ceil(60_000)
    )
}

pub(crate) fn call_interrupted() -> String {
    "Cancelled: the turn was interrupted before the hand-off was made. Nothing was sent.".to_owned()
}

/// Toast after a person interrupted a turn that had hand-offs waiting.
pub(crate) fn interrupted_title(count: usize) -> String {
    match count {
        1 => "Interrupted: 1 hand-off cancelled".to_owned(),
        n => format!("Interrupted: {n} hand-offs cancelled"),
    }
}

pub(crate) fn lost_at_stop_title(count: usize) -> String {
    match count {
        1 => "OpenCode stopped: 1 hand-off not delivered".to_owned(),
        n => format!("OpenCode stopped: {n} hand-offs not delivered"),
    }
}

/// The note a session gets when OpenCode stopped before its turn ended,
/// taking a queued hand-off with it.
pub(crate) fn lost_at_stop(relay: RelayId, mode: &str, agent: &str, text: &str) -> String {
    format!(
        "[Hand-off not delivered] OpenCode stopped before {relay} ({mode} → {agent}) was sent, and it is not sent again on its own. Its text:\n\n{text}\n\nAsk again if it is still wanted."
    )
}

/// One line of the interrupt toast: `relay #3 → plan: "Review the diff"`.
pub(crate) fn cancelled_line(what: &str, agent: &str, text: &str) -> String {
    format!("{what} → {agent}: \"{}\"", preview(text, PREVIEW_CHARS / 2))
}

pub(crate) fn agent_refused(agent: &str, why: Reachability, reachable: &[&str]) -> String {
    let reason = match why {
        Reachability::Subagent => {
            "is a subagent: subagents run only inside a task, not as the agent of a session"
        }
        Reachability::Hidden => "is one of OpenCode's internal agents",
        Reachability::Unknown | Reachability::Reachable => "is not an agent of this project",
    };
    let choices = if reachable.is_empty() {
        "none are configured".to_owned()
    } else {
        reachable.join(", ")
    };
    let agent = shown::quoted(agent);
    format!("Agent {agent} {reason}. Agents that can answer: {choices}. Nothing was sent.")
}

pub(crate) fn agents_unavailable(reason: &str) -> String {
    format!("Could not check the target agent ({reason}). Nothing was sent; try again.")
}

pub(crate) fn branch_failed(what: &str, reason: &str, certainty: Certainty) -> String {
    match certainty {
        Certainty::Definite => format!("Could not start the {what}: {reason}."),
        Certainty::Uncertain => format!(
            "Could not confirm the {what} ({reason}); it may still appear in the session list. Check there before trying again."
        ),
    }
}

pub(crate) fn branch_not_answering(
    agent: &str,
    session_id: &str,
    reason: &str,
    certainty: Certainty,
) -> String {
    match certainty {
        Certainty::Definite => format!(
            "Session {session_id} was created, but {agent} could not be started in it: {reason}. Open it and send the text yourself, or try again."
        ),
        Certainty::Uncertain => format!(
            "Session {session_id} was created, but OpenCode did not confirm that {agent} started ({reason}). Open it to check."
        ),
    }
}

pub(crate) fn turn_ended_before_queueing(agent: &str) -> String {
    format!(
        "The hand-off to {agent} was not queued: the turn that asked for it ended first (was it interrupted?). Nothing was sent."
    )
}

pub(crate) fn session_deleted_before_queueing() -> String {
    "The session was deleted before the hand-off was queued. Nothing was sent.".to_owned()
}

pub(crate) fn relay_failed_title(agent: &str) -> String {
    format!("Hand-off to {agent} failed")
}

pub(crate) fn relay_failed(
    relay: RelayId,
    reason: &str,
    text: &str,
    certainty: Certainty,
) -> String {
    let verdict = match certainty {
        Certainty::Definite => "was not delivered",
        Certainty::Uncertain => "may not have been delivered",
    };
    format!(
        "{relay} {verdict}: {reason}. Its text: \"{}\"",
        preview(text, PREVIEW_CHARS)
    )
}

/// How much of a branch's final answer its report carries.
const ANSWER_CHARS: usize = 1_500;
/// How much of each answer the side-by-side summary carries.
const SUMMARY_CHARS: usize = 300;

/// A branch's answer cut to what a report carries, saying when it was cut.
pub(crate) fn trimmed_answer(answer: &str) -> String {
    let answer = answer.trim();
    let total = answer.chars().count();
    if total <= ANSWER_CHARS {
        return answer.to_owned();
    }
    let cut: String = answer.chars().take(ANSWER_CHARS).collect();
    format!("{}… [trimmed; {total} characters in all]", cut.trim_end())
}

/// Text cut to `max` characters, lines kept.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", cut.trim_end())
}

/// The note a parent receives when one of its branches finished its turn.
pub(crate) fn branch_report(
    title: &str,
    session_id: &str,
    agent: &str,
    answer: &str,
    error: Option<&str>,
) -> String {
    let head = match error {
        None => format!("[Branch finished] \"{title}\" ({session_id}, {agent})"),
        Some(error) => {
            format!("[Branch ended with an error] \"{title}\" ({session_id}, {agent}): {error}")
        }
    };
    let body = if answer.is_empty() {
        "(no answer)".to_owned()
    } else {
        answer.to_owned()
    };
    format!("{head}\n\n{body}\n\nThe whole conversation is in session {session_id} (open it from /sessions).")
}

/// The side-by-side summary once every branch of a turn is done.
/// `branches`: `(title, session id, answer, error)`.
pub(crate) fn branches_summary(
    mode: Mode,
    branches: &[(String, String, String, Option<String>)],
) -> String {
    let mut text = match branches.len() {
        1 => format!("[The {mode} branch of this turn is done]"),
        n => format!("[All {n} {mode} branches of this turn are done]"),
    };
    for (n, (title, session_id, answer, error)) in branches.iter().enumerate() {
        let outcome = match error {
            Some(error) => format!("ended with an error: {error}"),
            None if answer.is_empty() => "(no answer)".to_owned(),
            None => cut(answer, SUMMARY_CHARS),
        };
        text.push_str(&format!(
            "\n\n{}. \"{title}\" ({session_id})\n{outcome}",
            n + 1
        ));
    }
    text.push_str(
        "\n\nCompare them and choose; each whole conversation is in its session (/sessions).",
    );
    text
}

pub(crate) fn resume_request() -> &'static str {
    "Your branches are done (above). Compare their results and continue."
}

pub(crate) fn resume_refused(max_hops: u32) -> String {
    format!(
        "The branches are done, but the parent session was not resumed: agents have handed work to each other {max_hops} times since a person last wrote there (maxHops = {max_hops}). The summary is in the session."
    )
}

pub(crate) fn no_branches() -> String {
    "This session has not opened any branches (new or fork) that are still remembered.".to_owned()
}

/// Where a branch stands, for `status`.
pub(crate) enum BranchLine<'a> {
    Running,
    Finished(&'a str),
    Failed(&'a str),
}

pub(crate) fn branch_status_line(
    title: &str,
    session_id: &str,
    agent: &str,
    state: BranchLine,
) -> String {
    let state = match state {
        BranchLine::Running => "running".to_owned(),
        BranchLine::Finished("") => "finished (no answer)".to_owned(),
        BranchLine::Finished(answer) => {
            format!(
                "finished: {}",
                cut(&answer.replace('\n', " "), SUMMARY_CHARS)
            )
        }
        BranchLine::Failed(error) => format!("ended with an error: {error}"),
    };
    format!("- \"{title}\" ({session_id}, {agent}) — {state}")
}

pub(crate) fn branch_status(lines: &[String]) -> String {
    format!(
        "Branches opened from this session, oldest first ({}):\n{}\nOpen one from /sessions to read it all.",
        lines.len(),
        lines.join("\n")
    )
}

/// The footer of `status`: what the plugin holds across every session.
pub(crate) fn engine_summary(stats: &EngineStats) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "Across all sessions: {} pending, {} running, {} remembered by the plugin.",
        count(stats.relays_pending, "hand-off", "hand-offs"),
        count(stats.branches_running, "branch", "branches"),
        count(stats.sessions_remembered, "session", "sessions"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_takes_the_first_non_empty_line_and_cuts_on_characters() {
        assert_eq!(
            preview("\n  implement   using Redux \nmore", 60),
            "implement using Redux"
        );
        assert_eq!(preview("ééééé", 3), "éé…");
        assert_eq!(preview("", 5), "");
        assert_eq!(
            preview("\u{7}\u{1b}\n\u{1b}[31mred\u{202e}txt\0end", 60),
            "[31mred txt end"
        );
    }

    #[test]
    fn titles_count_branches_only_when_there_are_several() {
        assert_eq!(
            branch_title(Mode::New, 1, 1, "plan", "Design the API"),
            "new · plan · Design the API"
        );
        assert_eq!(
            branch_title(Mode::Fork, 2, 3, "build", "Implement using Redux\nmore"),
            "fork 2/3 · build · Implement using Redux"
        );
    }
}
