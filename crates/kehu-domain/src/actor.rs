//! Who is acting, and which customers that lets them see (DOMAIN §14).

use serde::{Deserialize, Serialize};

use crate::entities::string_enum;
use crate::ids::{TeamId, UserId};

string_enum!(
    /// A user's role.
    Role {
        /// Sees and changes everything, manages users.
        Admin = "admin",
        /// Sees and changes the customers of their team.
        Manager = "manager",
        /// Sees and changes own customers.
        Rep = "rep",
        /// Reads within the scope of a manager (or everything without a team); writes nothing.
        ReadOnly = "read_only",
    }
);

/// The set of customers an actor can see. Everything attached to a customer
/// (contacts, interactions, tasks, orders) inherits its visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    All,
    Team(TeamId),
    Owner(UserId),
    /// A manager without a team manages nobody.
    Nothing,
}

/// An authenticated user on whose behalf something happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user_id: UserId,
    pub role: Role,
    pub team_id: Option<TeamId>,
}

impl Actor {
    pub fn scope(&self) -> Scope {
        match (self.role, self.team_id) {
            (Role::Admin, _) => Scope::All,
            (Role::Manager, Some(t)) | (Role::ReadOnly, Some(t)) => Scope::Team(t),
            (Role::Manager, None) => Scope::Nothing,
            (Role::ReadOnly, None) => Scope::All,
            (Role::Rep, _) => Scope::Owner(self.user_id),
        }
    }

    pub fn can_write(&self) -> bool {
        !matches!(self.role, Role::ReadOnly)
    }

    pub fn is_admin(&self) -> bool {
        matches!(self.role, Role::Admin)
    }

    /// Whether a customer owned by `owner` in `team` is within scope.
    pub fn sees(&self, owner: UserId, team: Option<TeamId>) -> bool {
        match self.scope() {
            Scope::All => true,
            Scope::Team(t) => team == Some(t),
            Scope::Owner(u) => owner == u,
            Scope::Nothing => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, team: Option<i64>) -> Actor {
        Actor {
            user_id: UserId(7),
            role,
            team_id: team.map(TeamId),
        }
    }

    #[test]
    fn scopes_follow_roles() {
        assert_eq!(actor(Role::Admin, Some(1)).scope(), Scope::All);
        assert_eq!(
            actor(Role::Manager, Some(1)).scope(),
            Scope::Team(TeamId(1))
        );
        assert_eq!(actor(Role::Manager, None).scope(), Scope::Nothing);
        assert_eq!(actor(Role::Rep, Some(1)).scope(), Scope::Owner(UserId(7)));
        assert_eq!(
            actor(Role::ReadOnly, Some(2)).scope(),
            Scope::Team(TeamId(2))
        );
        assert!(!actor(Role::ReadOnly, None).can_write());
    }

    #[test]
    fn sees_matches_scope() {
        let rep = actor(Role::Rep, Some(1));
        assert!(rep.sees(UserId(7), Some(TeamId(1))));
        assert!(!rep.sees(UserId(8), Some(TeamId(1))));
        let mgr = actor(Role::Manager, Some(1));
        assert!(mgr.sees(UserId(8), Some(TeamId(1))));
        assert!(!mgr.sees(UserId(8), Some(TeamId(2))));
    }
}
