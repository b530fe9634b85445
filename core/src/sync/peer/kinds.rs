//! What each kind of event may hold: the field checks behind [`super::check_event`].

use super::*;

pub(super) fn check_kind(event: &Event) -> Result<(), Refusal> {
    match &event.kind {
        EventKind::Enrolled { course, path } => {
            id("course", course)?;
            id("path", path)
        }
        EventKind::ModuleStarted { course, module } => {
            id("course", course)?;
            id("module", module)
        }
        EventKind::StepViewed {
            course,
            module,
            step,
        } => {
            id("course", course)?;
            id("module", module)?;
            id("step", step)
        }
        EventKind::ItemAnswered {
            course,
            module,
            step,
            item_kind,
            response,
            response_ms,
            credit,
            outcome,
            grade: _,
            local_date,
        } => {
            id("course", course)?;
            id("module", module)?;
            id("step", step)?;
            if ItemKind::from_name(item_kind).is_none() {
                return Err(field(
                    "item_kind",
                    format!("'{item_kind}' is not an item kind"),
                ));
            }
            if let Some(response) = response {
                check_response(response, item_kind)?;
            }
            if *response_ms > MAX_RESPONSE_MS {
                return Err(field("response_ms", "more than a day"));
            }
            if !credit.is_finite() || !(0.0..=1.0).contains(credit) {
                return Err(field("credit", format!("{credit} is outside 0 to 1")));
            }
            if Outcome::of_credit(*credit) != *outcome {
                return Err(field(
                    "outcome",
                    format!("{outcome:?} does not follow from credit {credit}"),
                ));
            }
            // A local date is the UTC date give or take the widest zone offsets (±14 h).
            let utc = event.at().date_naive();
            if (local_date.num_days_from_ce() - utc.num_days_from_ce()).abs() > 1 {
                return Err(field(
                    "local_date",
                    format!("{local_date} is not a local date of {utc}"),
                ));
            }
            Ok(())
        }
        EventKind::ParametersAdopted {
            parameters,
            reviews: _,
            log_loss_before,
            log_loss_after,
        } => {
            if parameters.len() != FSRS_PARAMETERS {
                return Err(field(
                    "parameters",
                    format!("{} values, not {FSRS_PARAMETERS}", parameters.len()),
                ));
            }
            for (i, (w, (low, high))) in parameters.iter().zip(FSRS_BOUNDS).enumerate() {
                if !w.is_finite() || *w < low || *w > high {
                    return Err(field(
                        "parameters",
                        format!("w{i} = {w} is outside {low} to {high}"),
                    ));
                }
            }
            for loss in [log_loss_before, log_loss_after] {
                if !loss.is_finite() || *loss < 0.0 {
                    return Err(field("log loss", format!("{loss} is not a loss")));
                }
            }
            Ok(())
        }
        EventKind::InterventionTriggered {
            course,
            module,
            reason,
            deadline_ms,
            signal,
            action,
        } => {
            if let Some(course) = course {
                id("course", course)?;
            }
            if let Some(signal) = signal {
                text("signal", signal, 256)?;
            }
            id("module", module)?;
            text("reason", reason, 500)?;
            intervention_window(event, *deadline_ms)?;
            check_action(action)
        }
        EventKind::InterventionProgressed {
            intervention,
            step: _,
        } => id("intervention", intervention),
        EventKind::MentoringRequested {
            intervention,
            mentee,
            course,
            skill,
            deadline_ms,
        } => {
            id("intervention", intervention)?;
            id("mentee", mentee)?;
            id("course", course)?;
            id("skill", skill)?;
            intervention_window(event, *deadline_ms)
        }
        EventKind::NudgeOutcomeRecorded {
            nudge,
            nudge_kind: _,
            subject,
            variant,
            local_hour,
            outcome: _,
            detail,
        } => {
            id("nudge", nudge)?;
            text("subject", subject, 256)?;
            text("variant", variant, 64)?;
            if *local_hour > 23 {
                return Err(field("local_hour", format!("{local_hour} is not an hour")));
            }
            if let Some(detail) = detail {
                text("detail", detail, 500)?;
            }
            Ok(())
        }
        EventKind::ConsentChanged { .. } => Ok(()),
        EventKind::PeerRated {
            course,
            step,
            cohort,
            share,
            feedback,
            reviewer,
            credit,
        } => {
            for (name, value) in [
                ("course", course),
                ("step", step),
                ("cohort", cohort),
                ("share", share),
                ("feedback", feedback),
                ("reviewer", reviewer),
            ] {
                id(name, value)?;
            }
            if !(0.0..=1.0).contains(credit) {
                return Err(field("credit", "not a number from 0 to 1"));
            }
            Ok(())
        }
        EventKind::ReviewRequested {
            course,
            path,
            stage,
            reason,
            questioned,
        } => {
            check_review(course, path, stage)?;
            text("reason", reason, 2000)?;
            text("questioned", questioned, 2000)
        }
        EventKind::ReviewDecided {
            review,
            course,
            path,
            stage,
            unlock: _,
            reason,
            author,
        } => {
            id("review", review)?;
            check_review(course, path, stage)?;
            text("reason", reason, 2000)?;
            text("author", author, 256)
        }
        EventKind::ExperimentExposed {
            experiment,
            arm,
            nudge_wording,
            retention,
        } => {
            id("experiment", experiment)?;
            id("arm", arm)?;
            if let Some(setting) = retention {
                id("course", &setting.course)?;
                let r = setting.desired_retention;
                if !r.is_finite() || !(RetentionSetting::MIN..=RetentionSetting::MAX).contains(&r) {
                    return Err(field(
                        "retention",
                        format!(
                            "{r} is outside {} to {}",
                            RetentionSetting::MIN,
                            RetentionSetting::MAX
                        ),
                    ));
                }
            }
            match nudge_wording {
                Some(wording) if !wording.kind.wordings().contains(&wording.variant.as_str()) => {
                    Err(field(
                        "nudge_wording",
                        format!(
                            "'{}' is not a wording of {} nudges",
                            wording.variant,
                            wording.kind.name()
                        ),
                    ))
                }
                _ => Ok(()),
            }
        }
        EventKind::PushTokenRegistered { platform, token } => {
            if !matches!(platform.as_str(), "fcm" | "apns") {
                return Err(field("platform", "neither 'fcm' nor 'apns'"));
            }
            check_push_token(platform, token).map_err(|why| field("token", why))
        }
        EventKind::PushOutcomeRecorded {
            platform,
            token_sha256,
            registration,
            intervention,
            outcome: _,
            detail,
        } => {
            if !matches!(platform.as_str(), "fcm" | "apns") {
                return Err(field("platform", "neither 'fcm' nor 'apns'"));
            }
            if token_sha256.len() != 64
                || !token_sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(field("token_sha256", "not 64 lowercase hex digits"));
            }
            id("registration", registration)?;
            if let Some(intervention) = intervention {
                id("intervention", intervention)?;
            }
            if let Some(detail) = detail {
                text("detail", detail, 500)?;
            }
            Ok(())
        }
        EventKind::GoalSet {
            goal,
            title,
            course,
            path,
            stages,
            skills,
            due,
            withdrawn: _,
        } => check_goal(goal, title, course, path, stages, skills, *due)
            .map_err(|e| field(e.field, e.why)),
        EventKind::StudyTimeSet {
            minutes_per_day,
            days_off,
        } => check_study_time(*minutes_per_day, days_off).map_err(|e| field(e.field, e.why)),
    }
}

fn check_review(course: &str, path: &str, stage: &str) -> Result<(), Refusal> {
    id("course", course)?;
    id("path", path)?;
    id("stage", stage)
}

/// An intervention's deadline lies after its event, at most fourteen days.
fn intervention_window(event: &Event, deadline_ms: i64) -> Result<(), Refusal> {
    let window = deadline_ms.saturating_sub(event.at_ms);
    if window <= 0 || window > MAX_INTERVENTION_MS {
        return Err(field(
            "deadline",
            "not within fourteen days after the event",
        ));
    }
    Ok(())
}

/// What an intervention of each kind may name: ids, and a coaching template of a title and
/// 3 to 6 prompts.
fn check_action(action: &InterventionAction) -> Result<(), Refusal> {
    match action {
        InterventionAction::Module => Ok(()),
        InterventionAction::Coaching { manager, template } => {
            id("manager", manager)?;
            id("template", &template.id)?;
            words("template title", &template.title, 120)?;
            if !COACHING_PROMPTS.contains(&template.prompts.len()) {
                return Err(field(
                    "template prompts",
                    format!("{} prompts, not 3 to 6", template.prompts.len()),
                ));
            }
            for prompt in &template.prompts {
                words("template prompt", prompt, 300)?;
            }
            Ok(())
        }
        InterventionAction::Mentoring {
            mentor,
            course,
            skill,
        } => {
            id("mentor", mentor)?;
            id("course", course)?;
            id("skill", skill)
        }
        InterventionAction::JobAid { course, aid } => {
            id("course", course)?;
            id("aid", aid)
        }
    }
}

/// A text that must say something: not blank, at most `max` bytes.
fn words(name: &'static str, value: &str, max: usize) -> Result<(), Refusal> {
    if value.trim().is_empty() {
        return Err(field(name, "empty"));
    }
    text(name, value, max)
}
