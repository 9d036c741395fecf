//! The use cases are the boundary: each domain function checks the permission it needs
//! itself, so whoever calls it (a resolver, the CLI, a future bulk act) cannot skip it.
//! Called directly with an actor who holds every permission but that one, each answers
//! FORBIDDEN naming it, and writes nothing.

use roster::domain::audit::AuditFilter;
use roster::domain::member_admin::ResetMode;
use roster::domain::member_list::MemberFilter;
use roster::domain::roles::{CreateRole, UpdateRole};
use roster::domain::settings::SettingsChanges;
use roster::domain::{
    Actor, Permission, PermissionSet, audit, invitations, member_admin, member_list, members,
    roles, settings,
};
use roster::error::Error;
use serde_json::json;

use crate::common::*;
use crate::on_both_databases;

on_both_databases!(every_use_case_checks_its_own_permission);

/// The administrator (member 1) holding every permission but `lacking`.
fn without(lacking: Permission) -> Actor {
    Actor {
        member_id: 1,
        permissions: PermissionSet::all()
            .to_vec()
            .into_iter()
            .filter(|p| *p != lacking)
            .collect(),
        origin: Default::default(),
    }
}

/// Asserts that `$call`, made by an actor lacking `$p`, is refused for lacking `$p`.
macro_rules! refused {
    ($p:expr, |$actor:ident| $call:expr) => {{
        let $actor = &without($p);
        match $call.await {
            Err(Error::Forbidden(name)) => assert_eq!(name, $p.name(), "{}", stringify!($call)),
            Err(other) => panic!("{}: {}", stringify!($call), other.detail()),
            Ok(_) => panic!("{} ran without {}", stringify!($call), $p.name()),
        }
    }};
}

async fn every_use_case_checks_its_own_permission(app: TestApp) {
    let admin = app.admin().await;
    let role = app.create_role(&admin, "Support", &["MEMBERS_VIEW"]).await;
    let (member, _) = app.member_with("target@example.com", &role).await;
    let (invitation, _) = app.invite(&admin, &role, None).await;
    let role: i64 = role.parse().unwrap();
    let invitation: i64 = invitation.parse().unwrap();
    let events = "{ auditEvents { totalCount } }";
    let before = app.ok(Some(&admin), events, json!({})).await;
    let s = &app.state;

    use Permission::*;
    refused!(MembersEditPermission, |a| member_admin::edit_permission(
        s, a, member, role, None
    ));
    refused!(MembersFreeze, |a| member_admin::freeze(
        s, a, member, None, None, None
    ));
    refused!(MembersFreeze, |a| member_admin::recover(s, a, member, None));
    refused!(MembersResetPassword, |a| member_admin::reset_password(
        s,
        a,
        member,
        ResetMode::TemporaryPassword,
        None
    ));
    refused!(MembersInvite, |a| invitations::invite(s, a, role, 7, None));
    refused!(MembersInvite, |a| invitations::reissue(s, a, invitation));
    refused!(MembersInvite, |a| invitations::revoke(s, a, invitation));
    refused!(MembersView, |a| invitations::page(s, a, None, None, 10));
    refused!(MembersView, |a| invitations::count(s, a, None));
    refused!(MembersView, |a| members::get(s, a, member));
    let all = MemberFilter::default();
    refused!(MembersView, |a| member_list::page(
        s, a, &all, None, 10, true
    ));
    refused!(MembersView, |a| member_list::count(s, a, &all));
    let create = || CreateRole {
        name: "Sales".into(),
        description: String::new(),
        permissions: vec![],
    };
    refused!(RolesManage, |a| roles::create(s, a, create()));
    let rename = || UpdateRole {
        name: Some("Renamed".into()),
        description: None,
        permissions: None,
    };
    refused!(RolesManage, |a| roles::update(s, a, role, rename()));
    refused!(RolesManage, |a| roles::delete(s, a, role, None));
    refused!(SecuritySettingsManage, |a| settings::view(s, a));
    let longer = || SettingsChanges {
        password_min_length: Some(20),
        ..Default::default()
    };
    refused!(SecuritySettingsManage, |a| settings::update(s, a, longer()));
    let any = AuditFilter::default();
    refused!(AuditLogView, |a| audit::page(s, a, &any, None, 10));
    refused!(AuditLogView, |a| audit::count(s, a, &any));

    let after = app.ok(Some(&admin), events, json!({})).await;
    assert_eq!(after, before, "a refused use case wrote an audit event");
    let query = "query($id: ID!) { member(id: $id) { status role { name } version } }";
    let target = app
        .ok(Some(&admin), query, json!({ "id": member.to_string() }))
        .await;
    assert_eq!(
        target["member"],
        json!({ "status": "ACTIVE", "role": { "name": "Support" }, "version": 1 })
    );
    let roles = app.ok(Some(&admin), "{ roles { name } }", json!({})).await;
    assert_eq!(roles["roles"].as_array().unwrap().len(), 2);
}
