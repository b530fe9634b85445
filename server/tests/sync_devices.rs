//! Two devices of one learner learn offline and sync through a real server on 127.0.0.1.

mod support;

use chrono::Duration;
use support::*;
use tidbit_core::learn::simulate::PracticeDevice;

#[test]
fn two_devices_that_learned_offline_converge_through_the_server() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let phone = Device::new(root.path(), "ana", "phone");
    let tablet = Device::new(root.path(), "ana", "tablet");
    let mut phone_learner = PracticeDevice::new(&phone.tidbit.lock().unwrap(), 1, 0.8).unwrap();
    let mut tablet_learner = PracticeDevice::new(&tablet.tidbit.lock().unwrap(), 2, 0.7).unwrap();
    for device in [&phone, &tablet] {
        device
            .tidbit
            .lock()
            .unwrap()
            .enroll(COURSE, "field-volunteer")
            .unwrap();
    }
    for day in 0..4 {
        for (device, learner) in [(&phone, &mut phone_learner), (&tablet, &mut tablet_learner)] {
            device
                .clock
                .set(start() + Duration::days(day) + Duration::hours(day % 3));
            let mut tidbit = device.tidbit.lock().unwrap();
            learner.practise(&mut tidbit, &device.clock, 6).unwrap();
        }
    }
    let phone_token = server.token("ana", "phone");
    let tablet_token = server.token("ana", "tablet");
    let first = phone.sync(&server.url(), &phone_token).unwrap();
    assert!(first.round_trips <= 3, "{first:?}");
    let second = tablet.sync(&server.url(), &tablet_token).unwrap();
    assert!(second.events_received > 0, "{second:?}");
    let third = phone.sync(&server.url(), &phone_token).unwrap();
    assert!(third.events_received > 0, "{third:?}");
    // Nothing new: one exchange.
    let idle = phone.sync(&server.url(), &phone_token).unwrap();
    assert_eq!((idle.round_trips, idle.events_received), (1, 0), "{idle:?}");

    assert_eq!(phone.event_ids(), tablet.event_ids());
    assert_eq!(phone.digest(), tablet.digest());
    assert_eq!(server_digest(&server, "ana", root.path()), phone.digest());
}
