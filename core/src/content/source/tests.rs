//! Compiling course sources: valid courses, and errors that name file and line.

use super::*;
use crate::content::items::Interaction;
use crate::content::model::StepBody;

fn write_course(dir: &Path, module: &str) {
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    std::fs::write(
        dir.join("course.toml"),
        r#"[course]
id = "demo"
version = "1.0.0"
title = "Demo"
locale = "en"

[[skills]]
id = "listen"
name = "Listening"

[[paths]]
id = "rep"
title = "Rep"

[[paths.stages]]
kind = "foundation"
title = "Basics"
modules = ["intro"]
"#,
    )
    .unwrap();
    std::fs::write(dir.join("modules/intro.md"), module).unwrap();
}

const GOOD_MODULE: &str = "+++
title = \"Intro\"
skills = [\"listen\"]
+++

::: lesson intro-card skills=listen
Hear them out.

. . .

Then answer.
:::

::: single intro-q skills=listen
prompt: What first?
- [x] Listen
  feedback: Yes.
- [ ] Talk
  feedback: Not yet.
explanation: Listening first builds trust.
:::
";

#[test]
fn a_valid_course_compiles_with_progressive_reveal() {
    let dir = tempfile::tempdir().unwrap();
    write_course(dir.path(), GOOD_MODULE);
    let compiled = compile_course(dir.path()).unwrap();
    let module = &compiled.course.modules[0];
    assert_eq!(module.steps.len(), 2);
    match &module.steps[0].body {
        StepBody::Lesson(card) => {
            assert_eq!(card.segments, vec!["Hear them out.", "Then answer."])
        }
        other => panic!("expected a lesson, got {other:?}"),
    }
    let warnings: Vec<String> = compiled.warnings.iter().map(|w| w.to_string()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("has no check")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("estimated at")),
        "{warnings:?}"
    );
}

#[test]
fn two_correct_options_in_a_single_choice_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let module = GOOD_MODULE.replace("- [ ] Talk", "- [x] Talk");
    write_course(dir.path(), &module);
    let errors = compile_course(dir.path()).unwrap_err();
    let first = errors.errors[0].to_string();
    assert_eq!(
        first,
        "modules/intro.md:14: item 'intro-q': 2 options are marked [x]: a single-choice item needs exactly one (use `multiple` for several)"
    );
}

#[test]
fn an_unknown_skill_is_reported_at_the_block_header() {
    let dir = tempfile::tempdir().unwrap();
    write_course(
        dir.path(),
        &GOOD_MODULE.replace("intro-q skills=listen", "intro-q skills=talk"),
    );
    let errors = compile_course(dir.path()).unwrap_err();
    assert!(errors.errors[0]
        .to_string()
        .starts_with("modules/intro.md:14: skill 'talk' is not defined"));
}

#[test]
fn an_unclosed_block_is_reported_where_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    write_course(dir.path(), GOOD_MODULE.trim_end().trim_end_matches(":::"));
    let errors = compile_course(dir.path()).unwrap_err();
    assert!(errors.errors[0]
        .to_string()
        .starts_with("modules/intro.md:14: block 'intro-q' is never closed"));
}

#[test]
fn a_missing_module_file_points_at_course_toml() {
    let dir = tempfile::tempdir().unwrap();
    write_course(dir.path(), GOOD_MODULE);
    std::fs::remove_file(dir.path().join("modules/intro.md")).unwrap();
    let errors = compile_course(dir.path()).unwrap_err();
    let message = errors.errors[0].to_string();
    assert!(
        message.starts_with("course.toml:18: module 'intro'"),
        "{message}"
    );
}

#[test]
fn a_toml_syntax_error_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write_course(dir.path(), GOOD_MODULE);
    let path = dir.path().join("course.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("title = \"Rep\"", "title = Rep")).unwrap();
    let errors = compile_course(dir.path()).unwrap_err();
    assert_eq!(errors.errors[0].line, 13, "{:?}", errors.errors);
}

#[test]
fn a_missing_asset_is_an_error_and_a_symlinked_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let module = GOOD_MODULE.replace("Then answer.", "Then answer. ![nod](assets/nod.png)");
    write_course(dir.path(), &module);
    let errors = compile_course(dir.path()).unwrap_err();
    assert!(errors.errors[0].message.contains("does not exist"));
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("assets/nod.png")).unwrap();
    let errors = compile_course(dir.path()).unwrap_err();
    assert!(
        errors.errors[0].message.contains("is a link"),
        "{:?}",
        errors.errors
    );
}

/// Found by the `source_compile` fuzz target: these paths name a real file, so the course
/// compiled, and then `tidbit pack build` failed without a line to fix.
#[test]
fn an_asset_path_a_pack_cannot_hold_is_an_error_at_its_line() {
    for written in ["assets//nod.png", "assets/./nod.png"] {
        let dir = tempfile::tempdir().unwrap();
        let module =
            GOOD_MODULE.replace("Then answer.", &format!("Then answer. ![nod]({written})"));
        write_course(dir.path(), &module);
        std::fs::write(dir.path().join("assets/nod.png"), b"png").unwrap();
        let errors = compile_course(dir.path()).unwrap_err();
        let first = errors.errors[0].to_string();
        assert!(
            first.starts_with(&format!(
                "modules/intro.md:11: unsafe asset path '{written}'"
            )),
            "{first}"
        );
    }
}

#[test]
fn two_asset_files_differing_only_by_case_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let module = GOOD_MODULE.replace(
        "Then answer.",
        "Then answer. ![nod](assets/Nod.png) ![nod](assets/nod.png)",
    );
    write_course(dir.path(), &module);
    std::fs::write(dir.path().join("assets/Nod.png"), b"one").unwrap();
    std::fs::write(dir.path().join("assets/nod.png"), b"two").unwrap();
    let errors = compile_course(dir.path()).unwrap_err();
    let first = errors.errors[0].to_string();
    assert!(
        first.starts_with("modules/intro.md:11: asset path 'assets/nod.png' appears twice"),
        "{first}"
    );
}

#[test]
fn every_item_kind_parses_from_its_documented_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let module = format!(
        "{GOOD_MODULE}
::: multiple m1 skills=listen
prompt: Which help?
- [x] Nodding
  feedback: yes
- [ ] Interrupting
  feedback: no
explanation: e
:::

::: truefalse t1 skills=listen
prompt: Silence is useful.
answer: true
feedback-true: right
feedback-false: wrong
explanation: e
:::

::: blanks b1 skills=listen
prompt: Say {{{{1}}}} before {{{{2}}}}.
- 1: thanks | thank you
  feedback: f
- 2: answering
  feedback: f
tolerate: case, whitespace, diacritics
explanation: e
:::

::: order o1 skills=listen
prompt: Order the steps.
- Listen
- Acknowledge
- Answer
explanation: e
:::

::: match c1 skills=listen
prompt: Sort them.
- Nod => Good
- Smile => Good
- Interrupt => Bad
explanation: e
:::

::: numeric n1 skills=listen
prompt: How many seconds of silence?
answer: 3
tolerance: 1
unit: s
explanation: e
:::

::: scenario s1 skills=listen
prompt: A customer is upset.
start: open
@open They raise their voice.
- [best] Listen -> calm
  feedback: They calm down.
- [poor] Argue -> end
  feedback: They leave.
@calm They explain.
- [best] Summarise -> end
- [ok] Offer a discount -> end
explanation: e
:::

::: flashcard f1 skills=listen
front: LAER
back: Listen, Acknowledge, Explore, Respond
:::

::: reflection r1 skills=listen
prompt: Recall a time you interrupted.
- I named what I did
- I named what I would do instead
explanation: e
:::

::: voice v1 skills=listen
prompt: Say how you would open the call.
max-seconds: 90
- I greeted them by name
- I asked what they need
explanation: e
:::
"
    );
    write_course(dir.path(), &module);
    let compiled = compile_course(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let kinds: Vec<&str> = compiled.course.modules[0]
        .items()
        .map(|(_, item)| item.interaction().kind().name())
        .collect();
    assert_eq!(
        kinds,
        [
            "single",
            "multiple",
            "truefalse",
            "blanks",
            "order",
            "match",
            "numeric",
            "scenario",
            "flashcard",
            "reflection",
            "voice"
        ]
    );
    let scenario = compiled.course.modules[0]
        .items()
        .find(|(s, _)| s.id == "s1")
        .unwrap()
        .1;
    match scenario.interaction() {
        Interaction::Scenario { start, nodes } => {
            assert_eq!(start, "open");
            assert_eq!(nodes[0].choices[0].next.as_deref(), Some("calm"));
            assert_eq!(nodes[0].choices[1].next, None);
        }
        other => panic!("{other:?}"),
    }
    // The numeric item has no feedback, so it is warned about.
    assert!(compiled
        .warnings
        .iter()
        .any(|w| w.message.contains("item 'n1' has options")));
}

/// The errors of GOOD_MODULE followed by `::: voice v1 skills=listen` holding `body`, and the
/// line the voice block opens on.
fn voice_block_errors(body: &str) -> (Vec<String>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let header = GOOD_MODULE.lines().count() + 2;
    write_course(
        dir.path(),
        &format!("{GOOD_MODULE}\n::: voice v1 skills=listen\n{body}:::\n"),
    );
    let errors = compile_course(dir.path()).unwrap_err();
    (
        errors.errors.iter().map(|e| e.to_string()).collect(),
        header,
    )
}

#[test]
fn a_voice_block_compiles_to_its_criteria_and_maximum() {
    let dir = tempfile::tempdir().unwrap();
    let module = format!(
        "{GOOD_MODULE}
::: voice v1 skills=listen
prompt: Say how you would open the call.
max-seconds: 45s
- I greeted them by name
- I asked what they need
explanation: Names and questions open a call well.
:::
"
    );
    write_course(dir.path(), &module);
    let compiled = compile_course(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let (_, item) = compiled.course.modules[0]
        .items()
        .find(|(s, _)| s.id == "v1")
        .unwrap();
    assert_eq!(item.prompt(), "Say how you would open the call.");
    assert_eq!(
        item.interaction(),
        &Interaction::Voice {
            criteria: vec![
                "I greeted them by name".into(),
                "I asked what they need".into()
            ],
            max_seconds: 45,
        }
    );
    // Criteria carry no feedback to warn about.
    assert!(
        !compiled.warnings.iter().any(|w| w.message.contains("'v1'")),
        "{:?}",
        compiled.warnings
    );
}

#[test]
fn a_voice_block_without_max_seconds_says_to_add_it() {
    let (errors, line) = voice_block_errors("prompt: Say it.\n- I said it\nexplanation: e\n");
    assert_eq!(
        errors,
        [format!(
            "modules/intro.md:{line}: a 'voice' item needs `max-seconds:`, the longest recording in whole seconds, 5 to 600, e.g. `max-seconds: 90`"
        )]
    );
}

#[test]
fn a_voice_block_whose_max_seconds_is_not_a_number_names_its_line() {
    let (errors, line) = voice_block_errors(
        "prompt: Say it.\nmax-seconds: two minutes\n- I said it\nexplanation: e\n",
    );
    assert_eq!(
        errors,
        [format!(
            "modules/intro.md:{}: max-seconds is the longest recording in whole seconds, 5 to 600, e.g. `max-seconds: 90`",
            line + 2
        )]
    );
}

#[test]
fn a_voice_block_whose_max_seconds_is_out_of_range_is_refused() {
    for seconds in ["3", "601", "3600"] {
        let (errors, line) = voice_block_errors(&format!(
            "prompt: Say it.\nmax-seconds: {seconds}\n- I said it\nexplanation: e\n"
        ));
        assert_eq!(
            errors,
            [format!(
                "modules/intro.md:{line}: item 'v1': a voice item's max-seconds is {seconds}: give 5 to 600 seconds, the longest recording a learner may send"
            )]
        );
    }
}

#[test]
fn a_voice_block_without_criteria_is_refused() {
    let (errors, line) = voice_block_errors("prompt: Say it.\nmax-seconds: 60\nexplanation: e\n");
    assert_eq!(
        errors,
        [format!(
            "modules/intro.md:{line}: item 'v1': a voice item needs at least one criterion the learner rates their answer against: list them as `- criterion` lines"
        )]
    );
}

#[test]
fn a_voice_block_refuses_fields_of_other_kinds() {
    let (errors, line) = voice_block_errors(
        "prompt: Say it.\nmax-seconds: 60\nanswer: true\n- I said it\nexplanation: e\n",
    );
    assert_eq!(
        errors,
        [format!(
            "modules/intro.md:{}: 'answer' is not a field of a 'voice' block: use prompt, explanation, max-seconds",
            line + 3
        )]
    );
}
