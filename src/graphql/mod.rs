//! The GraphQL API: schema assembly, one module per type area, loaders and access checks.

pub mod access;
mod audit;
mod connection;
mod errors;
mod invitation;
pub mod loaders;
mod member;
mod member_admin;
mod role;
mod scalars;
mod session;
mod settings;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder};

use crate::state::AppState;

pub use access::RequestCtx;

/// Every query.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    session::SessionQuery,
    member::MemberQuery,
    role::RoleQuery,
    invitation::InvitationQuery,
    settings::SettingsQuery,
    audit::AuditQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    session::SessionMutation,
    invitation::InvitationMutation,
    member_admin::MemberAdminMutation,
    role::RoleMutation,
    settings::SettingsMutation,
);

/// The Roster schema type.
pub type RosterSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, EmptySubscription> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
}

/// The schema, serving with `state`.
pub fn schema(state: AppState) -> RosterSchema {
    builder().data(state).finish()
}

/// The schema as SDL (what `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}
