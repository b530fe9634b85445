//! What an intervention's nudge says, by kind: the direct ask before the deadline, and the
//! softer one after repeated ignores (never an escalation). Module interventions keep the
//! words they always had.

use super::{Intervention, Message};
use crate::events::InterventionAction;

/// The title, body and deep link of `intervention`'s nudge; `deadline` is its local time.
pub(super) fn intervention_texts(
    intervention: &Intervention,
    soft: bool,
    deadline: &str,
) -> (Message, Message, String) {
    let module = intervention.module.as_str();
    let mut args = vec![
        ("module", module.to_string()),
        ("reason", intervention.reason.clone()),
        ("deadline", deadline.to_string()),
    ];
    let id = &intervention.id;
    match &intervention.action {
        InterventionAction::Module => {
            let link = match &intervention.course {
                Some(course) => format!("tidbit://module/{course}/{module}?intervention={id}"),
                None => format!("tidbit://module/{module}?intervention={id}"),
            };
            if soft {
                return (soft_title(), office_hours(module), link);
            }
            (
                message(
                    "nudge.intervention.title",
                    &args,
                    "A quick refresher for you".into(),
                ),
                message(
                    "nudge.intervention.body",
                    &args,
                    format!("Please revisit '{module}' by {deadline}."),
                ),
                link,
            )
        }
        InterventionAction::Coaching { manager, template } => {
            args.push(("manager", manager.clone()));
            args.push(("template", template.title.clone()));
            let link = format!("tidbit://intervention/{id}");
            if soft {
                let body = message(
                    "nudge.coaching.soft",
                    &args,
                    format!("No pressure: a short chat with {manager} about '{module}' is there when it suits you."),
                );
                return (soft_title(), body, link);
            }
            (
                message(
                    "nudge.coaching.title",
                    &args,
                    "A coaching conversation".into(),
                ),
                message(
                    "nudge.coaching.body",
                    &args,
                    format!(
                        "{manager} would like a short coaching conversation with you about '{module}' ({}) by {deadline}.",
                        template.title
                    ),
                ),
                link,
            )
        }
        InterventionAction::Mentoring { mentor, skill, .. } => {
            args.push(("mentor", mentor.clone()));
            args.push(("skill", skill.clone()));
            let link = format!("tidbit://intervention/{id}");
            if soft {
                let body = message(
                    "nudge.mentoring.soft",
                    &args,
                    format!("If it helps, {mentor} is happy to pair with you on '{skill}' whenever suits you."),
                );
                return (soft_title(), body, link);
            }
            (
                message(
                    "nudge.mentoring.title",
                    &args,
                    format!("A mentor for '{skill}'"),
                ),
                message(
                    "nudge.mentoring.body",
                    &args,
                    format!(
                        "{mentor} has shown '{skill}' and can pair with you: accept by {deadline}."
                    ),
                ),
                link,
            )
        }
        InterventionAction::JobAid { course, aid } => {
            args.push(("aid", aid.clone()));
            let link = format!("tidbit://job-aid/{course}/{aid}?intervention={id}");
            if soft {
                let body = message(
                    "nudge.job_aid.soft",
                    &args,
                    format!("One screen, one minute: the '{aid}' card is there when you need it."),
                );
                return (soft_title(), body, link);
            }
            (
                message(
                    "nudge.job_aid.title",
                    &args,
                    "A reference card for you".into(),
                ),
                message(
                    "nudge.job_aid.body",
                    &args,
                    format!("Open the one-screen '{aid}' card for '{module}' by {deadline}."),
                ),
                link,
            )
        }
    }
}

pub(super) fn message(key: &str, args: &[(&str, String)], text: String) -> Message {
    Message {
        key: key.to_string(),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        text,
    }
}

/// The title every softened nudge carries.
pub(super) fn soft_title() -> Message {
    message("nudge.soft.title", &[], "Just a moment?".into())
}

/// The softest ask about a topic: an invitation to office hours.
pub(super) fn office_hours(topic: &str) -> Message {
    message(
        "nudge.office_hours",
        &[("topic", topic.to_string())],
        format!("Questions about '{topic}'? Drop in to office hours, no preparation needed."),
    )
}
