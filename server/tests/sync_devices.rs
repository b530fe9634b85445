//! Two devices of one learner learn offline and sync through a real server on 127.0.0.1.

mod support;

use chrono::Duration;
use support::*;
use tidbit_core::simulate::PracticeDevice;

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

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn a_device_restored_from_a_backup_loses_and_reuses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let token = server.token("ana", "phone");
    let phone = Device::new(root.path(), "ana", "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    let mut learner = PracticeDevice::new(&phone.tidbit.lock().unwrap(), 5, 0.8).unwrap();
    learner
        .practise(&mut phone.tidbit.lock().unwrap(), &phone.clock, 5)
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    // The backup is taken here, closed cleanly, and the phone goes on learning and syncing.
    drop(phone);
    let backup = root.path().join("backup");
    copy_dir(&root.path().join("phone"), &backup);
    let phone = Device::new(root.path(), "ana", "phone");
    phone.clock.set(start() + Duration::days(1));
    learner
        .practise(&mut phone.tidbit.lock().unwrap(), &phone.clock, 5)
        .unwrap();
    phone.sync(&server.url(), &token).unwrap();
    let before_loss = phone.event_ids();
    drop(phone);

    // The phone is lost; its backup is restored and used on day 2: same device id, same next
    // sequence number as when the backup was taken.
    std::fs::remove_dir_all(root.path().join("phone")).unwrap();
    copy_dir(&backup, &root.path().join("phone"));
    let restored = Device::new(root.path(), "ana", "phone");
    restored.clock.set(start() + Duration::days(2));
    learner
        .practise(&mut restored.tidbit.lock().unwrap(), &restored.clock, 5)
        .unwrap();
    let report = restored.sync(&server.url(), &token).unwrap();
    assert!(report.events_received > 0, "{report:?}");

    let after = restored.event_ids();
    let mut unique = after.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), after.len(), "an event id was reused");
    assert!(!before_loss.is_empty());
    for id in &before_loss {
        assert!(after.contains(id), "event {id} was lost");
    }
    assert!(after.len() > before_loss.len());
    assert_eq!(
        server_digest(&server, "ana", root.path()),
        restored.digest()
    );
}
