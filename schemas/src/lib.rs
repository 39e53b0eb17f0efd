//! The channel types shared by the writer and reader programs of this workspace: examples,
//! integration tests and benchmarks.
//!
//! A writer and its readers must agree on a type's definition, and the surest way to agree is
//! to depend on one crate that defines it. Each type derives `SharedState`, so it carries its
//! channel's path, copy count and schema fingerprint; a program built from another version of
//! a type is refused with `Error::SchemaMismatch`.
//!
//! Every path can be moved at run time through the type's environment variable (see each
//! type), which is how tests give each run its own files.

use std::collections::{BTreeMap, HashMap};

use mmap_sync::SharedState;
use mmap_sync::schema::Describe;
use rkyv::{Archive, Deserialize, Serialize};

/// Upstream mmap-sync's example value, at upstream's path.
///
/// Three copies rather than two, so that a reader holding an old copy never makes the writer
/// wait. `MMAP_SYNC_HELLO_PATH` overrides the path.
#[derive(Archive, Serialize, Deserialize, SharedState, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug), compare(PartialEq))]
#[shared_state(path = "/dev/shm/hello_world", copies = 3, env = "MMAP_SYNC_HELLO_PATH")]
pub struct HelloWorld {
    pub version: u32,
    pub messages: Vec<String>,
}

impl HelloWorld {
    /// Upstream's example value: version 7, "Hello", "World", "!".
    pub fn example() -> Self {
        HelloWorld { version: 7, messages: vec!["Hello".into(), "World".into(), "!".into()] }
    }
}

/// An ML feature store snapshot: a dense vector of `dimension` floats per entity id.
///
/// Large values (hundreds of MB) are the point of this type, so its `max_size` is 1 GiB.
/// `MMAP_SYNC_FEATURES_PATH` overrides the path.
#[derive(Archive, Serialize, Deserialize, SharedState, Debug, Clone, PartialEq)]
#[rkyv(derive(Debug))]
#[shared_state(path = "/dev/shm/feature_table", copies = 3, max_size = "1 GiB")]
#[shared_state(env = "MMAP_SYNC_FEATURES_PATH")]
pub struct FeatureTable {
    /// Model or pipeline version that produced the features.
    pub version: u64,
    /// Length of every feature vector.
    pub dimension: u32,
    /// Entity id -> feature vector.
    pub features: HashMap<u64, Vec<f32>>,
}

impl FeatureTable {
    /// A table of `entities` ids (`0..entities`) with `dimension` features each, filled with
    /// values that depend only on the id, the position and `version`, so a reader can check
    /// what it reads with [`FeatureTable::expected_feature`].
    pub fn synthetic(version: u64, entities: u64, dimension: u32) -> Self {
        let features = (0..entities)
            .map(|id| {
                let row = (0..dimension).map(|i| Self::expected_feature(version, id, i)).collect();
                (id, row)
            })
            .collect();
        FeatureTable { version, dimension, features }
    }

    /// The value [`FeatureTable::synthetic`] puts at position `index` of entity `id`.
    pub fn expected_feature(version: u64, id: u64, index: u32) -> f32 {
        // Small integers are exact in f32, so equality checks on read are meaningful.
        ((version.wrapping_mul(31) ^ id.wrapping_mul(7) ^ u64::from(index)) % 65_536) as f32
    }
}

impl ArchivedFeatureTable {
    /// The feature vector of entity `id`, read in place.
    pub fn get(&self, id: u64) -> Option<&[rkyv::Archived<f32>]> {
        self.features.get(&rkyv::Archived::<u64>::from_native(id)).map(|row| row.as_slice())
    }
}

/// A service router's configuration: routes by path prefix, each to weighted upstreams with a
/// balancing policy, plus free-form settings. Strings, nested structs, an enum with data and
/// ordered maps, the shape of a typical config table. The nested types derive `Describe`, so
/// the channel's description shows their fields too.
///
/// `MMAP_SYNC_ROUTING_PATH` overrides the path.
#[derive(Archive, Serialize, Deserialize, SharedState, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug), compare(PartialEq))]
#[shared_state(path = "/dev/shm/routing_table", copies = 3, max_size = "64 MiB")]
#[shared_state(env = "MMAP_SYNC_ROUTING_PATH")]
pub struct RoutingTable {
    /// Configuration version, bumped on every change.
    pub version: u64,
    /// Routes, matched by longest `prefix`.
    pub routes: Vec<Route>,
    /// Where requests that match no route go, if anywhere.
    pub fallback: Option<Upstream>,
    /// Free-form settings (`"retry.max" -> "3"`).
    pub settings: BTreeMap<String, String>,
}

/// One route of a [`RoutingTable`].
#[derive(Archive, Serialize, Deserialize, Describe, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub struct Route {
    /// Request path prefix this route serves, e.g. `/api/users`.
    pub prefix: String,
    pub upstreams: Vec<Upstream>,
    pub policy: Policy,
    pub timeout_ms: u32,
}

/// A backend a [`Route`] can send requests to.
#[derive(Archive, Serialize, Deserialize, Describe, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub struct Upstream {
    pub host: String,
    pub port: u16,
    /// Relative share of the route's traffic.
    pub weight: u32,
}

/// How a [`Route`] spreads requests over its upstreams.
#[derive(Archive, Serialize, Deserialize, Describe, Debug, Clone, PartialEq, Eq)]
#[rkyv(derive(Debug), compare(PartialEq))]
pub enum Policy {
    RoundRobin,
    LeastConnections,
    /// Requests with the same value of this header go to the same upstream.
    HashHeader {
        header: String,
    },
}

impl RoutingTable {
    /// A small table with `routes` routes of three upstreams each, for examples and tests.
    pub fn example(version: u64, routes: usize) -> Self {
        let routes = (0..routes)
            .map(|i| Route {
                prefix: format!("/service/{i}"),
                upstreams: (0..3)
                    .map(|u| Upstream {
                        host: format!("backend-{i}-{u}.internal"),
                        port: 8000 + u,
                        weight: 1 + u32::from(u),
                    })
                    .collect(),
                policy: match i % 3 {
                    0 => Policy::RoundRobin,
                    1 => Policy::LeastConnections,
                    _ => Policy::HashHeader { header: "x-user-id".into() },
                },
                timeout_ms: 250 + 10 * i as u32,
            })
            .collect();
        let settings = [("retry.max", "3"), ("retry.backoff_ms", "50")]
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        RoutingTable {
            version,
            routes,
            fallback: Some(Upstream { host: "fallback.internal".into(), port: 80, weight: 1 }),
            settings,
        }
    }
}

impl ArchivedRoutingTable {
    /// The route with the longest prefix of `path`, read in place.
    pub fn route_for(&self, path: &str) -> Option<&ArchivedRoute> {
        self.routes
            .iter()
            .filter(|route| path.starts_with(route.prefix.as_str()))
            .max_by_key(|route| route.prefix.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive<T>(value: &T) -> rkyv::util::AlignedVec
    where
        T: for<'a> rkyv::Serialize<
                rkyv::api::high::HighSerializer<
                    rkyv::util::AlignedVec,
                    rkyv::ser::allocator::ArenaHandle<'a>,
                    rkyv::rancor::Error,
                >,
            >,
    {
        rkyv::to_bytes::<rkyv::rancor::Error>(value).expect("serializes")
    }

    #[test]
    fn every_schema_has_its_own_fingerprint_and_files() {
        let fingerprints =
            [HelloWorld::FINGERPRINT, FeatureTable::FINGERPRINT, RoutingTable::FINGERPRINT];
        let paths = [HelloWorld::PATH, FeatureTable::PATH, RoutingTable::PATH];
        for i in 0..3 {
            for j in i + 1..3 {
                assert_ne!(fingerprints[i], fingerprints[j]);
                assert_ne!(paths[i], paths[j]);
            }
        }
        assert_eq!(
            HelloWorld::DATA_PATHS,
            [
                "/dev/shm/hello_world_data_0",
                "/dev/shm/hello_world_data_1",
                "/dev/shm/hello_world_data_2"
            ]
        );
    }

    #[test]
    fn the_routing_table_structure_shows_its_nested_types() {
        let table = mmap_sync::schema::Structure::of(&RoutingTable::SHAPE).to_string();
        for nested in ["Route (struct", "Upstream (struct", "Policy (enum", "variant HashHeader"] {
            assert!(table.contains(nested), "{nested} missing from\n{table}");
        }
    }

    #[test]
    fn feature_lookup_reads_the_archived_row() {
        let table = FeatureTable::synthetic(3, 100, 8);
        let bytes = archive(&table);
        let archived = rkyv::access::<ArchivedFeatureTable, rkyv::rancor::Error>(&bytes).unwrap();
        let row = archived.get(42).expect("id 42 exists");
        assert_eq!(row.len(), 8);
        for (i, value) in row.iter().enumerate() {
            assert_eq!(value.to_native(), FeatureTable::expected_feature(3, 42, i as u32));
        }
        assert!(archived.get(100).is_none());
        assert_eq!(archived.version, 3);
        assert_eq!(archived.features.len(), 100);
    }

    #[test]
    fn route_lookup_takes_the_longest_matching_prefix() {
        let mut table = RoutingTable::example(1, 3);
        table.routes.push(Route { prefix: "/service/1/admin".into(), ..table.routes[0].clone() });
        let bytes = archive(&table);
        let archived = rkyv::access::<ArchivedRoutingTable, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(archived.route_for("/service/1/users").unwrap().prefix, "/service/1");
        assert_eq!(archived.route_for("/service/1/admin/x").unwrap().prefix, "/service/1/admin");
        assert!(archived.route_for("/other").is_none());
        assert_eq!(*archived, table);
    }
}
