//! The terminal session's specification: how typed lines parse, how times and markdown read,
//! and that `q` or the end of input stops any prompt.
//!
//! Each test checks one behaviour against the exact text a learner would type or see; none
//! opens a store (the end-to-end session is tested in `tests/learn_cli.rs`).

use tidbit_core::learn::assess::SelfRating;

use super::prompt::{
    parse_choice, parse_choices, parse_number, parse_order, parse_rating, parse_seconds,
    parse_true_false, parse_yes_no, read_recording, Console,
};
use super::render::{describe_return, mark_blanks, plain_text};
use super::Stop;

#[test]
fn a_choice_is_one_based_and_out_of_range_or_garbage_is_refused_with_a_hint() {
    assert_eq!(parse_choice("2", 4), Ok(1));
    assert_eq!(parse_choice(" 4 ", 4), Ok(3));
    let garbage = parse_choice("abc", 4).unwrap_err();
    assert!(garbage.contains("'abc' is not a number"), "{garbage}");
    assert!(garbage.contains("1 to 4"), "{garbage}");
    let high = parse_choice("99", 4).unwrap_err();
    assert!(high.contains("99 is not one of the choices"), "{high}");
    assert!(parse_choice("0", 4).is_err());
    assert!(parse_choice("-1", 4).is_err());
    assert!(parse_choice("", 4).is_err());
    assert!(parse_choice("1 2", 4).is_err());
}

#[test]
fn multiple_choices_accept_commas_and_spaces_and_refuse_repeats() {
    assert_eq!(parse_choices("1,3", 5), Ok(vec![0, 2]));
    assert_eq!(parse_choices("4 2, 1", 5), Ok(vec![3, 1, 0]));
    assert!(parse_choices("1,1", 5).unwrap_err().contains("twice"));
    assert!(parse_choices("", 5).is_err());
    assert!(parse_choices("6", 5).is_err());
}

#[test]
fn an_order_must_name_every_shown_entry_once() {
    assert_eq!(parse_order("3 1 2", 3), Ok(vec![2, 0, 1]));
    assert_eq!(parse_order("3,1,2", 3), Ok(vec![2, 0, 1]));
    assert!(parse_order("1 2", 3).is_err());
    assert!(parse_order("1 1 2", 3).is_err());
    assert!(parse_order("1 2 4", 3).is_err());
}

#[test]
fn numbers_may_carry_their_unit_or_a_decimal_comma() {
    assert_eq!(parse_number("2", Some("minutes")), Ok(2.0));
    assert_eq!(parse_number("2 minutes", Some("minutes")), Ok(2.0));
    assert_eq!(parse_number("2,5", None), Ok(2.5));
    assert_eq!(parse_number("-1.25", None), Ok(-1.25));
    assert!(parse_number("abc", None).is_err());
    assert!(parse_number("inf", None).is_err());
    assert!(parse_number("NaN", None).is_err());
}

#[test]
fn true_false_yes_no_and_ratings_take_their_letters_and_words() {
    assert_eq!(parse_true_false("T"), Ok(true));
    assert_eq!(parse_true_false("false"), Ok(false));
    assert!(parse_true_false("1").is_err());
    assert_eq!(parse_yes_no("y"), Ok(true));
    assert_eq!(parse_yes_no("No"), Ok(false));
    assert_eq!(parse_rating("1"), Ok(SelfRating::Again));
    assert_eq!(parse_rating("easy"), Ok(SelfRating::Easy));
    assert!(parse_rating("5").is_err());
}

#[test]
fn return_times_read_as_minutes_hours_days_and_months() {
    let minute = 60_000;
    assert_eq!(describe_return(0, 0), "due again now");
    assert_eq!(describe_return(0, 30_000), "back in under a minute");
    assert_eq!(describe_return(0, minute), "back in 1 minute");
    assert_eq!(describe_return(0, 10 * minute), "back in 10 minutes");
    assert_eq!(describe_return(0, 5 * 60 * minute), "back in 5 hours");
    assert_eq!(describe_return(0, 3 * 24 * 60 * minute), "back in 3 days");
    assert_eq!(
        describe_return(0, 90 * 24 * 60 * minute),
        "back in 3 months"
    );
}

#[test]
fn markdown_reads_as_plain_text() {
    assert_eq!(
        plain_text("**Up:** wires, *branches*, `code`"),
        "Up: wires, branches, code"
    );
    assert_eq!(plain_text("## Heading"), "Heading");
    assert_eq!(plain_text("* one\n* two"), "- one\n- two");
    assert_eq!(
        plain_text("See [the guide](https://x.org) and ![A rep](assets/a.png)"),
        "See the guide (https://x.org) and [image: A rep]"
    );
    assert_eq!(plain_text("snake_case and 5 * 3"), "snake_case and 5 * 3");
    assert_eq!(plain_text("_emphasis_."), "emphasis.");
    assert_eq!(plain_text(r"a \*literal\* star"), "a *literal* star");
}

#[test]
fn blanks_show_as_numbered_gaps() {
    assert_eq!(
        mark_blanks("apply a {{1}} and note the {{2}}."),
        "apply a ___(1)___ and note the ___(2)___."
    );
    assert_eq!(mark_blanks("{{x}} stays"), "{{x}} stays");
}

#[test]
fn q_and_the_end_of_input_stop_at_any_prompt() {
    let mut console = Console {
        input: "abc\n7\nq\n".as_bytes(),
        output: Vec::new(),
        echo: false,
    };
    assert!(matches!(
        console.ask_until("Your answer (1-3)", |s| parse_choice(s, 3)),
        Err(Stop::Quit)
    ));
    let shown = String::from_utf8(console.output).unwrap();
    assert!(shown.contains("'abc' is not a number"), "{shown}");
    assert!(shown.contains("7 is not one of the choices"), "{shown}");
    let mut ended = Console {
        input: "".as_bytes(),
        output: Vec::new(),
        echo: false,
    };
    assert!(matches!(ended.ask("Blank 1"), Err(Stop::Quit)));
}

#[test]
fn a_recording_length_is_typed_in_seconds_and_kept_in_milliseconds() {
    assert_eq!(parse_seconds("45"), Ok(45_000));
    assert_eq!(parse_seconds("1.5s"), Ok(1_500));
    assert_eq!(parse_seconds(" 12 s "), Ok(12_000));
    for garbage in ["", "0", "-3", "abc", "inf"] {
        let refusal = parse_seconds(garbage).unwrap_err();
        assert!(refusal.contains("length in seconds"), "{refusal}");
    }
}

#[test]
fn a_recording_path_must_name_a_readable_audio_file() {
    use tidbit_core::learn::voice::{pcm_wav, AudioFormat};
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("answer.wav");
    std::fs::write(&wav, pcm_wav(8_000, 1, 8, &[0x80; 800])).unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "what I would say").unwrap();
    let (bytes, format) = read_recording(&format!("\"{}\"", wav.display())).unwrap();
    assert_eq!((bytes.len(), format), (844, AudioFormat::Wav));
    let refusal = read_recording(text.to_str().unwrap()).unwrap_err();
    assert!(refusal.contains("is not a recording"), "{refusal}");
    let missing = read_recording(dir.path().join("gone.wav").to_str().unwrap()).unwrap_err();
    assert!(missing.contains("Cannot read"), "{missing}");
    assert!(read_recording("  ").unwrap_err().contains("No file yet"));
}
