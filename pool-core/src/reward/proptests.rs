//! Property tests of the reward math. Oracles use only `U256`'s own checked multiply and
//! division (never the `mul_div` under test), on inputs small enough for products to fit.

use super::exact::mul_div;
use super::*;
use crate::difficulty::Difficulty;
use crate::u256::U256;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A U256 of at most `max_bits` significant bits, at least 1; magnitudes vary widely. Drawn from
/// a seed (one value tree instead of 32 byte trees: generation stays cheap in debug builds).
fn u256_up_to(max_bits: u32) -> impl Strategy<Value = U256> {
    (1..=max_bits, any::<u64>()).prop_map(|(bits, seed)| {
        let mut b = [0u8; 32];
        crate::testutil::SplitMix64(seed).fill(&mut b);
        for i in bits..256 {
            b[31 - (i / 8) as usize] &= !(1 << (i % 8));
        }
        let v = U256::from_be_bytes(&b);
        if v.is_zero() { U256::ONE } else { v }
    })
}

fn difficulty(max_bits: u32) -> impl Strategy<Value = Difficulty> {
    u256_up_to(max_bits).prop_map(|v| Difficulty::new(v).unwrap())
}

fn scheme() -> impl Strategy<Value = Scheme> {
    prop_oneof![Just(Scheme::Pplns), Just(Scheme::Pps), Just(Scheme::Prop), Just(Scheme::Solo)]
}

/// Shares of up to `miners` miners, difficulties up to 2^`bits`.
fn shares(miners: u16, bits: u32, len: std::ops::Range<usize>) -> impl Strategy<Value = Vec<ShareWork<u16>>> {
    prop::collection::vec(
        (0..miners, difficulty(bits), scheme()).prop_map(|(miner, difficulty, scheme)| ShareWork {
            miner,
            difficulty,
            scheme,
        }),
        len,
    )
}

fn reward() -> impl Strategy<Value = u64> {
    prop_oneof![0..=MAX_SUPPLY_ATOMIC, 0..1000u64, Just(MAX_SUPPLY_ATOMIC)]
}

fn fee() -> impl Strategy<Value = FeeBp> {
    prop_oneof![0..=10_000u32, Just(0u32), Just(10_000u32)].prop_map(|b| FeeBp::new(b).unwrap())
}

fn ratio() -> impl Strategy<Value = Ratio> {
    prop_oneof![Just(Ratio::TWO), (1..=20u32, 1..=20u32).prop_map(|(n, d)| Ratio::new(n, d).unwrap())]
}

fn sum(v: impl IntoIterator<Item = U256>) -> U256 {
    v.into_iter().fold(U256::ZERO, |a, b| a.checked_add(b).unwrap())
}

/// reward, fee, network difficulty, PPLNS factor, the round, older shares.
type Case = (u64, FeeBp, Difficulty, Ratio, Vec<ShareWork<u16>>, Vec<ShareWork<u16>>);

/// A round and older shares: the window is the round newest first, then the older ones.
fn case() -> impl Strategy<Value = Case> {
    (reward(), fee(), difficulty(200), ratio(), shares(200, 200, 0..300), shares(200, 200, 0..200))
}

fn window_of(round: &[ShareWork<u16>], older: &[ShareWork<u16>]) -> Vec<ShareWork<u16>> {
    round.iter().rev().chain(older).cloned().collect()
}

/// 320-bit little-endian limbs: wide enough for a u64 amount times a 256-bit weight. The test's
/// own arithmetic, independent of `mul_div`.
type Wide = [u64; 5];

fn wide_mul(a: U256, m: u64) -> Wide {
    let b = a.to_be_bytes();
    let mut out = [0u64; 5];
    let mut carry = 0u128;
    for (i, limb) in out.iter_mut().take(4).enumerate() {
        let l = u64::from_be_bytes(b[32 - 8 * (i + 1)..32 - 8 * i].try_into().unwrap());
        let p = l as u128 * m as u128 + carry;
        *limb = p as u64;
        carry = p >> 64;
    }
    out[4] = carry as u64;
    out
}

/// `x − y`, or `None` when `y > x`.
fn wide_sub(x: Wide, y: Wide) -> Option<Wide> {
    let mut out = [0u64; 5];
    let mut borrow = false;
    for i in 0..5 {
        let (d1, b1) = x[i].overflowing_sub(y[i]);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        out[i] = d2;
        borrow = b1 || b2;
    }
    (!borrow).then_some(out)
}

fn narrow(x: Wide) -> Option<U256> {
    (x[4] == 0).then(|| {
        let mut b = [0u8; 32];
        for i in 0..4 {
            b[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&x[i].to_be_bytes());
        }
        U256::from_be_bytes(&b)
    })
}

/// Checks one group against the largest-remainder definition: every credit is
/// `floor(portion × w / W)` or one more, the credits sum to the portion, and whoever got the extra
/// unit ranks (remainder desc, miner asc) before whoever did not.
fn check_group(g: &GroupShare<u16>) -> Result<(), TestCaseError> {
    prop_assert_eq!(sum(g.lines.iter().map(|l| l.weight)), g.weight_total);
    if g.weight_total.is_zero() {
        prop_assert!(g.lines.iter().all(|l| l.credit == 0));
        return Ok(());
    }
    let mut ranked = Vec::new();
    for l in &g.lines {
        let x = wide_mul(l.weight, g.portion);
        // x − credit·W ≥ 0: no extra unit, remainder x − credit·W; otherwise the floor is credit − 1.
        let (rem, extra) = match wide_sub(x, wide_mul(g.weight_total, l.credit)) {
            Some(r) => (r, false),
            None => {
                prop_assert!(l.credit >= 1);
                let r = wide_sub(x, wide_mul(g.weight_total, l.credit - 1));
                prop_assert!(r.is_some(), "credit {} is more than one above the floor", l.credit);
                (r.unwrap(), true)
            }
        };
        let rem = narrow(rem).filter(|r| *r < g.weight_total);
        prop_assert!(rem.is_some(), "credit {} is below the floor", l.credit);
        ranked.push((rem.unwrap(), extra, l.miner));
    }
    prop_assert_eq!(g.lines.iter().map(|l| l.credit as u128).sum::<u128>(), g.portion as u128);
    for a in &ranked {
        for b in &ranked {
            if a.1 && !b.1 {
                prop_assert!(a.0 > b.0 || (a.0 == b.0 && a.2 < b.2), "{:?} got the unit before {:?}", a, b);
            }
        }
    }
    Ok(())
}

/// 200 cases each. XorShift rather than the default ChaCha: in a debug build the unoptimised
/// ChaCha intrinsics took most of the run time.
pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 200,
        rng_algorithm: proptest::test_runner::RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

/// Fisher–Yates with the crate's test PRNG.
fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut rng = crate::testutil::SplitMix64(seed);
    for i in (1..v.len()).rev() {
        v.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn shared_split_conserves_and_follows_the_rules((reward, fee, d, factor, round, older) in case()) {
        let e = explain_shared(reward, fee, d, factor, &round, window_of(&round, &older)).unwrap();
        prop_assert!(e.split.conserves(reward));
        prop_assert_eq!(e.fee_amount, (reward as u128 * fee.bp() as u128 / 10_000) as u64);
        prop_assert_eq!(e.split.pps_fund, e.groups[2].portion);
        // Group portions: the same rule, over PPLNS, PROP, PPS in that order.
        let groups = GroupShare {
            scheme: Scheme::Solo,
            round_work: e.round_work,
            portion: e.rest,
            weight_total: e.round_work,
            lines: e.groups.iter().enumerate()
                .map(|(i, g)| CreditLine { miner: i as u16, weight: g.round_work, credit: g.portion })
                .collect(),
        };
        if !e.round_work.is_zero() {
            check_group(&groups)?;
        }
        check_group(&e.groups[0])?;
        check_group(&e.groups[1])?;
        // Group work is the round's work of that scheme; solo shares count nowhere.
        for (g, k) in e.groups.iter().zip([Scheme::Pplns, Scheme::Prop, Scheme::Pps]) {
            prop_assert_eq!(g.round_work, sum(round.iter().filter(|s| s.scheme == k).map(|s| s.difficulty.value())));
        }
        // Credits are the non-zero per-miner sums of the lines.
        let mut credits = BTreeMap::new();
        for l in e.groups.iter().flat_map(|g| &g.lines).filter(|l| l.credit > 0) {
            *credits.entry(l.miner).or_insert(0) += l.credit;
        }
        prop_assert_eq!(&credits, &e.split.credits);
        let expected_unassigned = if e.round_work.is_zero() { e.rest } else { 0 };
        prop_assert_eq!(e.unassigned, expected_unassigned, "the window holds the round's own PPLNS shares");
    }

    #[test]
    fn solo_split_conserves(reward in reward(), fee in fee(), finder in any::<u16>()) {
        let s = split_solo(reward, fee, finder);
        prop_assert!(s.conserves(reward));
        prop_assert_eq!(s.credits.get(&finder).copied().unwrap_or(0), reward - fee.of(reward));
    }

    #[test]
    fn the_round_order_does_not_matter(
        (reward, fee, d, factor, round, older) in case(),
        seed in any::<u64>(),
    ) {
        let window = window_of(&round, &older);
        let a = split_shared(reward, fee, d, factor, &round, window.clone()).unwrap();
        let mut shuffled = round.clone();
        shuffle(&mut shuffled, seed);
        let b = split_shared(reward, fee, d, factor, &shuffled, window).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn the_window_holds_exactly_min_total_and_factor_times_d(
        d in difficulty(200),
        factor in ratio(),
        stream in shares(40, 200, 0..300),
    ) {
        let w = pplns_window(factor, d, stream.clone());
        // Target = ceil(num × D / den), checked with the plain U256 product (D < 2^200 fits).
        let nd = d.value().checked_mul_u64(factor.num().into()).unwrap();
        prop_assert!(w.target.checked_mul_u64(factor.den().into()).unwrap() >= nd);
        prop_assert!(w.target.checked_sub(U256::ONE).unwrap().checked_mul_u64(factor.den().into()).unwrap() < nd);
        let offered = sum(stream.iter().filter(|s| s.scheme == Scheme::Pplns).map(|s| s.difficulty.value()));
        prop_assert_eq!(w.filled, offered.min(w.target));
        prop_assert_eq!(sum(w.work.values().copied()), w.filled);
        // The shares read are a prefix of the PPLNS stream, the last one cut by `cut`.
        let read: Vec<_> = stream.iter().filter(|s| s.scheme == Scheme::Pplns).take(w.shares).collect();
        let whole = sum(read.iter().map(|s| s.difficulty.value()));
        prop_assert_eq!(whole.checked_sub(w.cut).unwrap(), w.filled);
        if let Some(last) = read.last() {
            prop_assert!(w.cut < last.difficulty.value(), "the last share read counts for something");
        }
    }

    #[test]
    fn more_window_work_never_gets_less(
        reward in reward(),
        fee in fee(),
        d in difficulty(64),
        stream in shares(30, 64, 1..300),
    ) {
        let pplns: Vec<_> = stream.into_iter().map(|s| ShareWork { scheme: Scheme::Pplns, ..s }).collect();
        let round = &pplns[..1];
        let e = explain_shared(reward, fee, d, Ratio::TWO, round, pplns.clone()).unwrap();
        let lines = &e.groups[0].lines;
        for a in lines {
            for b in lines {
                if a.weight > b.weight {
                    prop_assert!(a.credit >= b.credit, "{:?} vs {:?}", a, b);
                }
            }
        }
    }

    #[test]
    fn pps_carry_is_exact_while_the_network_difficulty_holds(
        d_net in difficulty(120),
        shares in prop::collection::vec((difficulty(120), 0..=MAX_SUPPLY_ATOMIC, fee()), 1..200),
    ) {
        let mut acc = PpsAccumulator::default();
        let mut credited = 0u128;
        let mut exact = U256::ZERO;
        let m = d_net.value().checked_mul_u64(10_000).unwrap();
        for (d, r, f) in &shares {
            let v = pps_value(*d, d_net, *r, *f);
            // Values above the maximum supply are refused; the carry is untouched by them.
            let Ok(v) = v else { continue };
            credited += acc.credit(&v) as u128;
            let n = U256::from_u128(*r as u128 * (10_000 - f.bp()) as u128).checked_mul(d.value()).unwrap();
            exact = exact.checked_add(n).unwrap();
            // After every share: credited == floor(exact / m), the carry is the rest.
            let (q, rem) = exact.div_rem(m).unwrap();
            prop_assert_eq!(credited, q.to_u128().unwrap());
            prop_assert_eq!((acc.remainder(), acc.denominator()), (rem, m));
            prop_assert_eq!(acc.to_string().parse::<PpsAccumulator>(), Ok(acc));
        }
    }

    #[test]
    fn pps_carry_across_difficulty_changes_never_creates_value(
        steps in prop::collection::vec((difficulty(40), difficulty(40), 0..=MAX_SUPPLY_ATOMIC, fee()), 1..100),
    ) {
        // Per step, exactly: (credit·m + r_new) == (atomic·m + value_rem) + floor(r_old·m / m_old),
        // and the floor loses less than one 1/m.
        let mut acc = PpsAccumulator::default();
        for (d, d_net, r, f) in &steps {
            let Ok(v) = pps_value(*d, *d_net, *r, *f) else { continue };
            let (old_r, old_m) = (acc.remainder(), acc.denominator());
            let c = acc.credit(&v);
            let m = v.denominator();
            prop_assert_eq!(acc.denominator(), m);
            prop_assert!(acc.remainder() < m);
            let carried = old_r.checked_mul(m).unwrap().div_rem(old_m).unwrap().0;
            let lhs = U256::from_u64(c).checked_mul(m).unwrap().checked_add(acc.remainder()).unwrap();
            let rhs = U256::from_u64(v.atomic()).checked_mul(m).unwrap()
                .checked_add(v.remainder()).unwrap().checked_add(carried).unwrap();
            prop_assert_eq!(lhs, rhs);
            // carried/m ≤ old_r/old_m < (carried + 1)/m.
            prop_assert!(carried.checked_mul(old_m).unwrap() <= old_r.checked_mul(m).unwrap());
            prop_assert!(carried.checked_add(U256::ONE).unwrap().checked_mul(old_m).unwrap() > old_r.checked_mul(m).unwrap());
        }
    }

    #[test]
    fn mul_div_matches_the_plain_product(a in u256_up_to(128), b in u256_up_to(128), c in u256_up_to(256)) {
        let (q, r) = mul_div(a, b, c).unwrap();
        let (q2, r2) = a.checked_mul(b).unwrap().div_rem(c).unwrap();
        prop_assert_eq!((q, r), (q2, r2));
    }

    #[test]
    fn mul_div_beyond_256_bits_is_consistent(a in u256_up_to(64), b in u256_up_to(256), c in u256_up_to(256)) {
        // a·b may need 320 bits. With a = a1 + a2: q·c + r = (q1 + q2)·c + r1 + r2.
        let (a1, a2) = (a.div_rem_u64(2).unwrap().0, a.checked_sub(a.div_rem_u64(2).unwrap().0).unwrap());
        if let (Some((q, r)), Some((q1, r1)), Some((q2, r2))) = (mul_div(a, b, c), mul_div(a1, b, c), mul_div(a2, b, c)) {
            prop_assert!(r < c);
            // r1 + r2 = r + k·c for k ∈ {0, 1}, and q = q1 + q2 + k.
            let k = q.checked_sub(q1.checked_add(q2).unwrap()).unwrap();
            prop_assert!(k <= U256::ONE);
            if k.is_zero() {
                prop_assert_eq!(r1.checked_add(r2), Some(r));
            } else {
                prop_assert_eq!(r1.checked_sub(c.checked_sub(r2).unwrap()), Some(r));
            }
        }
    }
}
