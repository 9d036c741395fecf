//! The GraphQL API: schema assembly, one module per type area, loaders and access checks.

pub mod access;
mod audit;
mod bulk;
mod capabilities;
mod compat;
mod connection;
pub mod documents;
mod errors;
mod fast;
mod ids;
mod invitation;
pub mod limits;
mod live;
pub mod live_render;
pub mod loaders;
mod member;
mod member_admin;
mod member_sessions;
pub mod nulls;
pub mod ordering;
mod role;
mod scalars;
mod session;
mod settings;

use async_graphql::{MergedObject, Schema, SchemaBuilder, ValidationMode};

use crate::domain::AppState;

pub use access::RequestCtx;
pub use live::SubscriptionRoot;

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
    live::LiveQuery,
);

/// Every mutation.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    session::SessionMutation,
    invitation::InvitationMutation,
    member_admin::MemberAdminMutation,
    member_sessions::SessionsMutation,
    bulk::BulkMutation,
    role::RoleMutation,
    settings::SettingsMutation,
);

/// The Roster schema type.
pub type RosterSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// The schema registers no extension: the list fast path ([`fast`]) answers fields the
/// way the executor does only while there is none.
fn builder() -> SchemaBuilder<QueryRoot, MutationRoot, SubscriptionRoot> {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
}

/// Parser nesting allowed before the depth limit is even counted: deep enough that
/// [`limits::QueryLimits`] reports a clear error, shallow enough for the stack.
const PARSER_RECURSION: usize = 64;

/// The schema, serving with `state`; without `introspection`, the `__schema` and
/// `__type` fields are refused. Operations must pass [`limits::QueryLimits`] first:
/// the HTTP layer checks them, since an extension would wrap every field's resolver.
///
/// `validation` is [`ValidationMode::Strict`] except for documents that passed it
/// before (see [`documents::Documents`]), which only need depth and complexity.
pub fn schema(state: AppState, introspection: bool, validation: ValidationMode) -> RosterSchema {
    let builder = builder()
        .data(state)
        .limit_recursive_depth(PARSER_RECURSION)
        .validation_mode(validation);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The schema as SDL (what `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}
