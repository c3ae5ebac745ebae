//! The numbers JS and Rust exchange, defined once: the slots of the
//! `CachePolicy` I/O array (`policyIo()`), its flag bits and op codes, the
//! cache interceptor's slots, flags and result codes (same array), and the
//! layouts of the stores' array results and metadata. The bindings use the
//! constants below; `wireLayout()` hands the same values to the JS shells,
//! which read them once at load (`lib/wire.js`), so a slot moved here moves on
//! both sides, and `__test__/wire-format.test.mjs` round-trips each layout.

use napi_derive::napi;

use crate::http::cache_control::Summary;
use crate::http::policy::Reuse;
use crate::http::stored_response::{bit, Use};

// Every slot fits the I/O array (checked at compile time).
const _: () = {
    use super::cache_policy::IO_SLOTS;
    assert!(exchange::AGE < IO_SLOTS);
    assert!(facts::LEN <= IO_SLOTS);
    assert!(time::NOW < IO_SLOTS);
    assert!(summary::LEN <= IO_SLOTS);
    assert!(interceptor::directives::LEN <= IO_SLOTS);
    assert!(interceptor::arrive::RESPONSE_TIME < IO_SLOTS);
    assert!(interceptor::arrival::INITIAL_AGE < IO_SLOTS);
    assert!(interceptor::presentation::AGE < IO_SLOTS);
    // The stale-if-error bit of `interceptorUse`'s result stays clear of the
    // `Use` codes it is or-ed with.
    assert!(interceptor::USE_STALE_IF_ERROR.is_power_of_two());
    assert!(interceptor::USE_STALE_IF_ERROR > Use::GatewayTimeout as u32);
};

/// Input slots of `policyNew` / `policyFacts` (the exchange).
pub mod exchange {
    pub const STATUS: usize = 0;
    pub const METHOD: usize = 1;
    pub const FLAGS: usize = 2;
    pub const CACHE_HEURISTIC: usize = 3;
    pub const IMMUTABLE_MIN_TTL: usize = 4;
    pub const RESPONSE_TIME: usize = 5;
    /// `policyFacts` only: the response Cache-Control as a summary
    /// (`summary::*` order), then the header values.
    pub const CC_BITS: usize = 6;
    pub const MAX_AGE: usize = 7;
    pub const S_MAXAGE: usize = 8;
    pub const STALE_WHILE_REVALIDATE: usize = 9;
    pub const STALE_IF_ERROR: usize = 10;
    pub const EXPIRES: usize = 11;
    pub const DATE: usize = 12;
    pub const LAST_MODIFIED: usize = 13;
    pub const AGE: usize = 14;
    /// Slots `[HEAD, HEAD + HEAD_LEN)`: what both calls read first.
    pub const HEAD_LEN: usize = 6;
}

/// Output slots of `policyNew` / `policyFacts`: the policy's facts, kept by
/// the shell as an array in this order.
pub mod facts {
    pub const FLAGS: usize = 0;
    pub const MAX_AGE: usize = 1;
    pub const AGE_VALUE: usize = 2;
    pub const DATE: usize = 3;
    pub const STALE_WHILE_REVALIDATE: usize = 4;
    pub const STALE_IF_ERROR: usize = 5;
    pub const LEN: usize = 6;
}

/// Input slots of the clock-dependent rules (`policyTime`, `policyEvaluate*`).
pub mod time {
    pub const OP: usize = 0;
    pub const FLAGS: usize = 1;
    pub const MAX_AGE: usize = 2;
    pub const AGE_VALUE: usize = 3;
    pub const RESPONSE_TIME: usize = 4;
    pub const STALE_WHILE_REVALIDATE: usize = 5;
    pub const STALE_IF_ERROR: usize = 6;
    pub const NOW: usize = 7;
}

/// Output slots of `policySummary` (a response Cache-Control as numbers).
pub mod summary {
    pub const BITS: usize = 0;
    pub const MAX_AGE: usize = 1;
    pub const S_MAXAGE: usize = 2;
    pub const STALE_WHILE_REVALIDATE: usize = 3;
    pub const STALE_IF_ERROR: usize = 4;
    pub const LEN: usize = 5;
}

/// Input slots of `policyServerDate`.
pub mod server_date {
    pub const DATE: usize = 0;
    pub const RESPONSE_TIME: usize = 1;
}

/// Output slots of `policyDates`: the three dates in the order given.
pub mod dates {
    pub const EXPIRES: usize = 0;
    pub const DATE: usize = 1;
    pub const LAST_MODIFIED: usize = 2;
}

/// Bits of `exchange::FLAGS`.
pub mod input_flags {
    pub const SHARED: u32 = 1;
    pub const IGNORE_CARGO_CULT: u32 = 2;
    pub const NO_AUTHORIZATION: u32 = 4;
    pub const SET_COOKIE: u32 = 8;
    pub const VARY_STAR: u32 = 16;
    pub const CACHE_CONTROL_PRESENT: u32 = 32;
    pub const REQUEST_NO_STORE: u32 = 128;
    pub const EXPIRES_PRESENT: u32 = 256;
    pub const DATES_UNLOADED: u32 = 512;
}

/// Bits of `facts::FLAGS` (and `time::FLAGS`).
pub mod fact_flags {
    pub const STORABLE: u32 = 1;
    pub const MUST_REVALIDATE: u32 = 2;
    pub const EXPLICIT_EXPIRATION: u32 = 4;
    pub const CARGO_CULT_REWRITTEN: u32 = 8;
    /// Alone in `facts::FLAGS`: `policyFacts` needs the dates loaded first.
    pub const NEEDS_DATES: u32 = 16;
    /// Never set by Rust: the shell's mark that the Date is not loaded yet.
    pub const DATE_UNKNOWN: u32 = 1024;
}

/// `time::OP` values of `policyTime`.
pub mod time_ops {
    pub const AGE: u32 = 0;
    pub const TIME_TO_LIVE: u32 = 1;
    pub const STALE: u32 = 2;
    pub const USE_STALE_WHILE_REVALIDATE: u32 = 3;
    pub const STALE_IF_ERROR: u32 = 4;
    pub const WARNING_113: u32 = 5;
}

/// `exchange::METHOD` values (see `http::policy::Method::from_code`).
pub mod methods {
    pub const GET: u32 = 0;
    pub const HEAD: u32 = 1;
    pub const POST: u32 = 2;
    pub const OTHER: u32 = 3;
}

/// The metadata `memoryStoreMeta` returns: one JSON array, the three times
/// Rust keeps as numbers first, then the shell's own metadata array, written
/// by the shell in `memory_meta::STATUS_CODE..` order minus `TIMES`.
pub mod memory_meta {
    pub const CACHED_AT: u32 = 0;
    pub const STALE_AT: u32 = 1;
    pub const DELETE_AT: u32 = 2;
    /// How many times Rust puts first.
    pub const TIMES: u32 = 3;
    pub const STATUS_CODE: u32 = 3;
    pub const STATUS_MESSAGE: u32 = 4;
    pub const HEADERS: u32 = 5;
    pub const VARY: u32 = 6;
    pub const ETAG: u32 = 7;
    pub const CACHE_CONTROL_DIRECTIVES: u32 = 8;
}

/// `memoryStoreStats` result.
pub mod memory_stats {
    pub const HITS: u32 = 0;
    pub const MISSES: u32 = 1;
    pub const WRITES: u32 = 2;
    pub const EVICTIONS: u32 = 3;
    pub const EXPIRED: u32 = 4;
    pub const SIZE: u32 = 5;
    pub const COUNT: u32 = 6;
}

/// `memoryStoreCommit`'s array result: then the removed ids from `REMOVED`.
pub mod memory_commit {
    pub const STORED: u32 = 0;
    pub const EXCEEDED: u32 = 1;
    pub const SIZE: u32 = 2;
    pub const COUNT: u32 = 3;
    pub const REMOVED: u32 = 4;
}

/// `sqliteStoreStats` result: the file's usage, then this object's counters.
pub mod sqlite_stats {
    pub const COUNT: u32 = 0;
    pub const SIZE: u32 = 1;
    pub const WRITES: u32 = 2;
    pub const EVICTIONS: u32 = 3;
    pub const EXPIRED: u32 = 4;
}

/// `pageCacheStats` result.
pub mod page_stats {
    pub const HITS: u32 = 0;
    pub const MISSES: u32 = 1;
    pub const INSERTS: u32 = 2;
    pub const EVICTIONS: u32 = 3;
    pub const EXPIRED: u32 = 4;
    pub const INVALIDATED: u32 = 5;
    pub const SIZE: u32 = 6;
    pub const COUNT: u32 = 7;
    pub const TAGS: u32 = 8;
}

/// The cache interceptor's calls (`interceptor*`, `lib/interceptor-rules.js`):
/// numbers travel through the same `policyIo()` array.
pub mod interceptor {
    /// Output slots of `interceptorDirectives`: a Cache-Control value as
    /// its `http::stored_response::bit` set, then the values (NaN: absent).
    pub mod directives {
        pub const BITS: usize = 0;
        pub const MAX_AGE: usize = 1;
        pub const S_MAXAGE: usize = 2;
        pub const STALE_WHILE_REVALIDATE: usize = 3;
        pub const STALE_IF_ERROR: usize = 4;
        pub const MIN_FRESH: usize = 5;
        pub const MAX_STALE: usize = 6;
        pub const LEN: usize = 7;
    }

    /// Input slots of `interceptorArrive` (a response from the origin).
    pub mod arrive {
        pub const STATUS: usize = 0;
        /// `interceptor::flags` bits.
        pub const FLAGS: usize = 1;
        pub const REQUEST_BITS: usize = 2;
        pub const RESPONSE_BITS: usize = 3;
        pub const MAX_AGE: usize = 4;
        pub const S_MAXAGE: usize = 5;
        pub const STALE_WHILE_REVALIDATE: usize = 6;
        pub const STALE_IF_ERROR: usize = 7;
        /// Seconds, NaN: none.
        pub const CACHE_BY_DEFAULT: usize = 8;
        pub const REQUEST_TIME: usize = 9;
        pub const RESPONSE_TIME: usize = 10;
    }

    /// Output slots of `interceptorArrive`.
    pub mod arrival {
        /// 0 or 1.
        pub const STORABLE: usize = 0;
        /// Freshness lifetime (s).
        pub const LIFETIME: usize = 1;
        /// Corrected initial age (s).
        pub const INITIAL_AGE: usize = 2;
    }

    /// Input slots of `interceptorUse` (a stored response presented with a
    /// request).
    pub mod presentation {
        /// `interceptor::flags` bits.
        pub const FLAGS: usize = 0;
        pub const RESPONSE_BITS: usize = 1;
        pub const RESPONSE_STALE_WHILE_REVALIDATE: usize = 2;
        pub const RESPONSE_STALE_IF_ERROR: usize = 3;
        pub const REQUEST_BITS: usize = 4;
        pub const REQUEST_MAX_AGE: usize = 5;
        pub const REQUEST_MIN_FRESH: usize = 6;
        pub const REQUEST_MAX_STALE: usize = 7;
        pub const REQUEST_STALE_IF_ERROR: usize = 8;
        /// Freshness lifetime (s).
        pub const LIFETIME: usize = 9;
        /// Current age (s).
        pub const AGE: usize = 10;
    }

    /// Bits of `arrive::FLAGS` and `presentation::FLAGS`.
    pub mod flags {
        pub const METHOD_CACHEABLE: u32 = 1;
        pub const SHARED: u32 = 2;
        pub const AUTHORIZATION: u32 = 4;
        pub const VARY_STAR: u32 = 8;
        pub const HAS_VALIDATOR: u32 = 16;
        pub const EXPIRES_PRESENT: u32 = 32;
        pub const PRAGMA_NO_CACHE: u32 = 64;
        pub const SET_COOKIE_KEPT: u32 = 128;
    }

    /// Or-ed into `interceptorUse`'s result (a `Use` code) when
    /// stale-if-error allows serving the stored response if the
    /// revalidation fails.
    pub const USE_STALE_IF_ERROR: u32 = 4;
}

// What `wireLayout()` returns: the constants above as JS objects.

#[napi(object)]
pub struct ExchangeSlots {
    pub status: u32,
    pub method: u32,
    pub flags: u32,
    pub cache_heuristic: u32,
    pub immutable_min_ttl: u32,
    pub response_time: u32,
    pub cc_bits: u32,
    pub max_age: u32,
    pub s_maxage: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub expires: u32,
    pub date: u32,
    pub last_modified: u32,
    pub age: u32,
}

#[napi(object)]
pub struct FactSlots {
    pub flags: u32,
    pub max_age: u32,
    pub age_value: u32,
    pub date: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub length: u32,
}

#[napi(object)]
pub struct TimeSlots {
    pub op: u32,
    pub flags: u32,
    pub max_age: u32,
    pub age_value: u32,
    pub response_time: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub now: u32,
}

#[napi(object)]
pub struct SummarySlots {
    pub bits: u32,
    pub max_age: u32,
    pub s_maxage: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub length: u32,
}

#[napi(object)]
pub struct DateSlots {
    pub expires: u32,
    pub date: u32,
    pub last_modified: u32,
}

#[napi(object)]
pub struct ServerDateSlots {
    pub date: u32,
    pub response_time: u32,
}

#[napi(object)]
pub struct InputFlags {
    pub shared: u32,
    pub ignore_cargo_cult: u32,
    pub no_authorization: u32,
    pub set_cookie: u32,
    pub vary_star: u32,
    pub cache_control_present: u32,
    pub request_no_store: u32,
    pub expires_present: u32,
    pub dates_unloaded: u32,
}

#[napi(object)]
pub struct FactFlags {
    pub storable: u32,
    pub must_revalidate: u32,
    pub explicit_expiration: u32,
    pub cargo_cult_rewritten: u32,
    pub needs_dates: u32,
    pub date_unknown: u32,
}

/// Bits of a Cache-Control summary (`http::cache_control::Summary`).
#[napi(object)]
pub struct SummaryBits {
    pub public: u32,
    pub private: u32,
    pub no_store: u32,
    pub no_cache: u32,
    pub max_age: u32,
    pub s_maxage: u32,
    pub must_revalidate: u32,
    pub proxy_revalidate: u32,
    pub immutable: u32,
    pub cargo_cult: u32,
}

#[napi(object)]
pub struct TimeOps {
    pub age: u32,
    pub time_to_live: u32,
    pub stale: u32,
    pub use_stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub warning113: u32,
}

#[napi(object)]
pub struct MethodCodes {
    pub get: u32,
    pub head: u32,
    pub post: u32,
    pub other: u32,
}

/// `policyEvaluate*` results (`http::policy::Reuse`).
#[napi(object)]
pub struct ReuseCodes {
    pub miss: u32,
    pub fresh: u32,
    pub stale_while_revalidate: u32,
}

#[napi(object)]
pub struct PolicyLayout {
    /// Length of the `policyIo()` array.
    pub io_slots: u32,
    pub exchange: ExchangeSlots,
    pub facts: FactSlots,
    pub time: TimeSlots,
    pub summary: SummarySlots,
    pub dates: DateSlots,
    pub server_date: ServerDateSlots,
    pub input_flags: InputFlags,
    pub fact_flags: FactFlags,
    pub summary_bits: SummaryBits,
    pub time_ops: TimeOps,
    pub methods: MethodCodes,
    pub reuse: ReuseCodes,
}

#[napi(object)]
pub struct InterceptorDirectiveSlots {
    pub bits: u32,
    pub max_age: u32,
    pub s_maxage: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub min_fresh: u32,
    pub max_stale: u32,
    pub length: u32,
}

#[napi(object)]
pub struct InterceptorArriveSlots {
    pub status: u32,
    pub flags: u32,
    pub request_bits: u32,
    pub response_bits: u32,
    pub max_age: u32,
    pub s_maxage: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
    pub cache_by_default: u32,
    pub request_time: u32,
    pub response_time: u32,
}

#[napi(object)]
pub struct InterceptorArrivalSlots {
    pub storable: u32,
    pub lifetime: u32,
    pub initial_age: u32,
}

#[napi(object)]
pub struct InterceptorPresentationSlots {
    pub flags: u32,
    pub response_bits: u32,
    pub response_stale_while_revalidate: u32,
    pub response_stale_if_error: u32,
    pub request_bits: u32,
    pub request_max_age: u32,
    pub request_min_fresh: u32,
    pub request_max_stale: u32,
    pub request_stale_if_error: u32,
    pub lifetime: u32,
    pub age: u32,
}

#[napi(object)]
pub struct InterceptorFlags {
    pub method_cacheable: u32,
    pub shared: u32,
    pub authorization: u32,
    pub vary_star: u32,
    pub has_validator: u32,
    pub expires_present: u32,
    pub pragma_no_cache: u32,
    pub set_cookie_kept: u32,
}

/// `interceptorUse` results: a `http::stored_response::Use` code, with
/// `stale_if_error` or-ed in.
#[napi(object)]
pub struct InterceptorUses {
    pub revalidate: u32,
    pub serve: u32,
    pub serve_stale_and_revalidate: u32,
    pub gateway_timeout: u32,
    pub stale_if_error: u32,
}

/// Bits of a parsed Cache-Control (`http::stored_response::bit`).
#[napi(object)]
pub struct DirectiveBits {
    pub no_store: u32,
    pub no_cache: u32,
    pub no_cache_fields: u32,
    pub private: u32,
    pub private_fields: u32,
    pub public: u32,
    pub must_revalidate: u32,
    pub proxy_revalidate: u32,
    pub immutable: u32,
    pub only_if_cached: u32,
    pub max_age: u32,
    pub max_age_invalid: u32,
    pub s_maxage: u32,
    pub s_maxage_invalid: u32,
    pub max_stale: u32,
    pub min_fresh: u32,
    pub must_understand: u32,
    pub stale_while_revalidate: u32,
    pub stale_if_error: u32,
}

#[napi(object)]
pub struct InterceptorLayout {
    pub directives: InterceptorDirectiveSlots,
    pub arrive: InterceptorArriveSlots,
    pub arrival: InterceptorArrivalSlots,
    pub presentation: InterceptorPresentationSlots,
    pub flags: InterceptorFlags,
    pub uses: InterceptorUses,
    pub directive_bits: DirectiveBits,
}

#[napi(object)]
pub struct MemoryMeta {
    pub cached_at: u32,
    pub stale_at: u32,
    pub delete_at: u32,
    pub times: u32,
    pub status_code: u32,
    pub status_message: u32,
    pub headers: u32,
    pub vary: u32,
    pub etag: u32,
    pub cache_control_directives: u32,
}

#[napi(object)]
pub struct MemoryStats {
    pub hits: u32,
    pub misses: u32,
    pub writes: u32,
    pub evictions: u32,
    pub expired: u32,
    pub size: u32,
    pub count: u32,
}

#[napi(object)]
pub struct MemoryCommit {
    pub stored: u32,
    pub exceeded: u32,
    pub size: u32,
    pub count: u32,
    pub removed: u32,
}

#[napi(object)]
pub struct SqliteStats {
    pub count: u32,
    pub size: u32,
    pub writes: u32,
    pub evictions: u32,
    pub expired: u32,
}

#[napi(object)]
pub struct PageStats {
    pub hits: u32,
    pub misses: u32,
    pub inserts: u32,
    pub evictions: u32,
    pub expired: u32,
    pub invalidated: u32,
    pub size: u32,
    pub count: u32,
    pub tags: u32,
}

#[napi(object)]
pub struct WireLayout {
    pub policy: PolicyLayout,
    pub interceptor: InterceptorLayout,
    pub memory_meta: MemoryMeta,
    pub memory_stats: MemoryStats,
    pub memory_commit: MemoryCommit,
    pub sqlite_stats: SqliteStats,
    pub page_stats: PageStats,
}

/// Every slot, flag, op code and result offset the JS shells share with the
/// bindings (read once per module load).
#[napi(catch_unwind)]
pub fn wire_layout() -> WireLayout {
    WireLayout {
        policy: policy_layout(),
        interceptor: interceptor_layout(),
        memory_meta: MemoryMeta {
            cached_at: memory_meta::CACHED_AT,
            stale_at: memory_meta::STALE_AT,
            delete_at: memory_meta::DELETE_AT,
            times: memory_meta::TIMES,
            status_code: memory_meta::STATUS_CODE,
            status_message: memory_meta::STATUS_MESSAGE,
            headers: memory_meta::HEADERS,
            vary: memory_meta::VARY,
            etag: memory_meta::ETAG,
            cache_control_directives: memory_meta::CACHE_CONTROL_DIRECTIVES,
        },
        memory_stats: MemoryStats {
            hits: memory_stats::HITS,
            misses: memory_stats::MISSES,
            writes: memory_stats::WRITES,
            evictions: memory_stats::EVICTIONS,
            expired: memory_stats::EXPIRED,
            size: memory_stats::SIZE,
            count: memory_stats::COUNT,
        },
        memory_commit: MemoryCommit {
            stored: memory_commit::STORED,
            exceeded: memory_commit::EXCEEDED,
            size: memory_commit::SIZE,
            count: memory_commit::COUNT,
            removed: memory_commit::REMOVED,
        },
        sqlite_stats: SqliteStats {
            count: sqlite_stats::COUNT,
            size: sqlite_stats::SIZE,
            writes: sqlite_stats::WRITES,
            evictions: sqlite_stats::EVICTIONS,
            expired: sqlite_stats::EXPIRED,
        },
        page_stats: PageStats {
            hits: page_stats::HITS,
            misses: page_stats::MISSES,
            inserts: page_stats::INSERTS,
            evictions: page_stats::EVICTIONS,
            expired: page_stats::EXPIRED,
            invalidated: page_stats::INVALIDATED,
            size: page_stats::SIZE,
            count: page_stats::COUNT,
            tags: page_stats::TAGS,
        },
    }
}

fn policy_layout() -> PolicyLayout {
    let slot = |s: usize| s as u32;
    PolicyLayout {
        io_slots: slot(super::cache_policy::IO_SLOTS),
        exchange: ExchangeSlots {
            status: slot(exchange::STATUS),
            method: slot(exchange::METHOD),
            flags: slot(exchange::FLAGS),
            cache_heuristic: slot(exchange::CACHE_HEURISTIC),
            immutable_min_ttl: slot(exchange::IMMUTABLE_MIN_TTL),
            response_time: slot(exchange::RESPONSE_TIME),
            cc_bits: slot(exchange::CC_BITS),
            max_age: slot(exchange::MAX_AGE),
            s_maxage: slot(exchange::S_MAXAGE),
            stale_while_revalidate: slot(exchange::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(exchange::STALE_IF_ERROR),
            expires: slot(exchange::EXPIRES),
            date: slot(exchange::DATE),
            last_modified: slot(exchange::LAST_MODIFIED),
            age: slot(exchange::AGE),
        },
        facts: FactSlots {
            flags: slot(facts::FLAGS),
            max_age: slot(facts::MAX_AGE),
            age_value: slot(facts::AGE_VALUE),
            date: slot(facts::DATE),
            stale_while_revalidate: slot(facts::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(facts::STALE_IF_ERROR),
            length: slot(facts::LEN),
        },
        time: TimeSlots {
            op: slot(time::OP),
            flags: slot(time::FLAGS),
            max_age: slot(time::MAX_AGE),
            age_value: slot(time::AGE_VALUE),
            response_time: slot(time::RESPONSE_TIME),
            stale_while_revalidate: slot(time::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(time::STALE_IF_ERROR),
            now: slot(time::NOW),
        },
        summary: SummarySlots {
            bits: slot(summary::BITS),
            max_age: slot(summary::MAX_AGE),
            s_maxage: slot(summary::S_MAXAGE),
            stale_while_revalidate: slot(summary::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(summary::STALE_IF_ERROR),
            length: slot(summary::LEN),
        },
        dates: DateSlots {
            expires: slot(dates::EXPIRES),
            date: slot(dates::DATE),
            last_modified: slot(dates::LAST_MODIFIED),
        },
        server_date: ServerDateSlots {
            date: slot(server_date::DATE),
            response_time: slot(server_date::RESPONSE_TIME),
        },
        input_flags: InputFlags {
            shared: input_flags::SHARED,
            ignore_cargo_cult: input_flags::IGNORE_CARGO_CULT,
            no_authorization: input_flags::NO_AUTHORIZATION,
            set_cookie: input_flags::SET_COOKIE,
            vary_star: input_flags::VARY_STAR,
            cache_control_present: input_flags::CACHE_CONTROL_PRESENT,
            request_no_store: input_flags::REQUEST_NO_STORE,
            expires_present: input_flags::EXPIRES_PRESENT,
            dates_unloaded: input_flags::DATES_UNLOADED,
        },
        fact_flags: FactFlags {
            storable: fact_flags::STORABLE,
            must_revalidate: fact_flags::MUST_REVALIDATE,
            explicit_expiration: fact_flags::EXPLICIT_EXPIRATION,
            cargo_cult_rewritten: fact_flags::CARGO_CULT_REWRITTEN,
            needs_dates: fact_flags::NEEDS_DATES,
            date_unknown: fact_flags::DATE_UNKNOWN,
        },
        summary_bits: SummaryBits {
            public: Summary::PUBLIC,
            private: Summary::PRIVATE,
            no_store: Summary::NO_STORE,
            no_cache: Summary::NO_CACHE,
            max_age: Summary::MAX_AGE,
            s_maxage: Summary::S_MAXAGE,
            must_revalidate: Summary::MUST_REVALIDATE,
            proxy_revalidate: Summary::PROXY_REVALIDATE,
            immutable: Summary::IMMUTABLE,
            cargo_cult: Summary::CARGO_CULT,
        },
        time_ops: TimeOps {
            age: time_ops::AGE,
            time_to_live: time_ops::TIME_TO_LIVE,
            stale: time_ops::STALE,
            use_stale_while_revalidate: time_ops::USE_STALE_WHILE_REVALIDATE,
            stale_if_error: time_ops::STALE_IF_ERROR,
            warning113: time_ops::WARNING_113,
        },
        methods: MethodCodes {
            get: methods::GET,
            head: methods::HEAD,
            post: methods::POST,
            other: methods::OTHER,
        },
        reuse: ReuseCodes {
            miss: Reuse::Miss as u32,
            fresh: Reuse::Fresh as u32,
            stale_while_revalidate: Reuse::StaleWhileRevalidate as u32,
        },
    }
}

fn interceptor_layout() -> InterceptorLayout {
    use interceptor::{arrival, arrive, directives, flags, presentation};
    let slot = |s: usize| s as u32;
    InterceptorLayout {
        directives: InterceptorDirectiveSlots {
            bits: slot(directives::BITS),
            max_age: slot(directives::MAX_AGE),
            s_maxage: slot(directives::S_MAXAGE),
            stale_while_revalidate: slot(directives::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(directives::STALE_IF_ERROR),
            min_fresh: slot(directives::MIN_FRESH),
            max_stale: slot(directives::MAX_STALE),
            length: slot(directives::LEN),
        },
        arrive: InterceptorArriveSlots {
            status: slot(arrive::STATUS),
            flags: slot(arrive::FLAGS),
            request_bits: slot(arrive::REQUEST_BITS),
            response_bits: slot(arrive::RESPONSE_BITS),
            max_age: slot(arrive::MAX_AGE),
            s_maxage: slot(arrive::S_MAXAGE),
            stale_while_revalidate: slot(arrive::STALE_WHILE_REVALIDATE),
            stale_if_error: slot(arrive::STALE_IF_ERROR),
            cache_by_default: slot(arrive::CACHE_BY_DEFAULT),
            request_time: slot(arrive::REQUEST_TIME),
            response_time: slot(arrive::RESPONSE_TIME),
        },
        arrival: InterceptorArrivalSlots {
            storable: slot(arrival::STORABLE),
            lifetime: slot(arrival::LIFETIME),
            initial_age: slot(arrival::INITIAL_AGE),
        },
        presentation: InterceptorPresentationSlots {
            flags: slot(presentation::FLAGS),
            response_bits: slot(presentation::RESPONSE_BITS),
            response_stale_while_revalidate: slot(presentation::RESPONSE_STALE_WHILE_REVALIDATE),
            response_stale_if_error: slot(presentation::RESPONSE_STALE_IF_ERROR),
            request_bits: slot(presentation::REQUEST_BITS),
            request_max_age: slot(presentation::REQUEST_MAX_AGE),
            request_min_fresh: slot(presentation::REQUEST_MIN_FRESH),
            request_max_stale: slot(presentation::REQUEST_MAX_STALE),
            request_stale_if_error: slot(presentation::REQUEST_STALE_IF_ERROR),
            lifetime: slot(presentation::LIFETIME),
            age: slot(presentation::AGE),
        },
        flags: InterceptorFlags {
            method_cacheable: flags::METHOD_CACHEABLE,
            shared: flags::SHARED,
            authorization: flags::AUTHORIZATION,
            vary_star: flags::VARY_STAR,
            has_validator: flags::HAS_VALIDATOR,
            expires_present: flags::EXPIRES_PRESENT,
            pragma_no_cache: flags::PRAGMA_NO_CACHE,
            set_cookie_kept: flags::SET_COOKIE_KEPT,
        },
        uses: InterceptorUses {
            revalidate: Use::Revalidate as u32,
            serve: Use::Serve as u32,
            serve_stale_and_revalidate: Use::ServeStaleAndRevalidate as u32,
            gateway_timeout: Use::GatewayTimeout as u32,
            stale_if_error: interceptor::USE_STALE_IF_ERROR,
        },
        directive_bits: DirectiveBits {
            no_store: bit::NO_STORE,
            no_cache: bit::NO_CACHE,
            no_cache_fields: bit::NO_CACHE_FIELDS,
            private: bit::PRIVATE,
            private_fields: bit::PRIVATE_FIELDS,
            public: bit::PUBLIC,
            must_revalidate: bit::MUST_REVALIDATE,
            proxy_revalidate: bit::PROXY_REVALIDATE,
            immutable: bit::IMMUTABLE,
            only_if_cached: bit::ONLY_IF_CACHED,
            max_age: bit::MAX_AGE,
            max_age_invalid: bit::MAX_AGE_INVALID,
            s_maxage: bit::S_MAXAGE,
            s_maxage_invalid: bit::S_MAXAGE_INVALID,
            max_stale: bit::MAX_STALE,
            min_fresh: bit::MIN_FRESH,
            must_understand: bit::MUST_UNDERSTAND,
            stale_while_revalidate: bit::STALE_WHILE_REVALIDATE,
            stale_if_error: bit::STALE_IF_ERROR,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_distinct_bits() {
        let inputs = [
            input_flags::SHARED,
            input_flags::IGNORE_CARGO_CULT,
            input_flags::NO_AUTHORIZATION,
            input_flags::SET_COOKIE,
            input_flags::VARY_STAR,
            input_flags::CACHE_CONTROL_PRESENT,
            input_flags::REQUEST_NO_STORE,
            input_flags::EXPIRES_PRESENT,
            input_flags::DATES_UNLOADED,
        ];
        let facts = [
            fact_flags::STORABLE,
            fact_flags::MUST_REVALIDATE,
            fact_flags::EXPLICIT_EXPIRATION,
            fact_flags::CARGO_CULT_REWRITTEN,
            fact_flags::NEEDS_DATES,
            fact_flags::DATE_UNKNOWN,
        ];
        use interceptor::flags as f;
        let interceptor = [
            f::METHOD_CACHEABLE,
            f::SHARED,
            f::AUTHORIZATION,
            f::VARY_STAR,
            f::HAS_VALIDATOR,
            f::EXPIRES_PRESENT,
            f::PRAGMA_NO_CACHE,
            f::SET_COOKIE_KEPT,
        ];
        for set in [&inputs[..], &facts[..], &interceptor[..]] {
            let mut seen = 0;
            for &bit in set {
                assert!(bit.is_power_of_two());
                assert_eq!(seen & bit, 0, "bit {bit} used twice");
                seen |= bit;
            }
        }
    }
}
