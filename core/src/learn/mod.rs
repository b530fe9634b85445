//! The learner's loop: score answers ([`assess`]), schedule reinforcement on FSRS
//! ([`schedule`]), measure skill mastery ([`mastery`]), derive every projection from the event
//! log ([`projection`]), plan what to do next ([`plan`]), and check the recordings of spoken
//! answers ([`voice`]).

pub mod assess;
pub mod goal;
pub mod mastery;
pub mod memo;
pub mod personalise;
pub mod plan;
pub mod projection;
pub mod recommend;
pub mod schedule;
pub mod voice;
