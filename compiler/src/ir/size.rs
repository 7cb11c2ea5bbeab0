//! Size expressions: axis lengths such as `N + M`, `4 * B` or
//! `(H - 3) div 2 + 1` (contract section 11).
//!
//! A [`Poly`] is the normal form: a polynomial with integer coefficients
//! whose atoms are size names and `div` terms (`p div d`, `p` itself normal,
//! `d` a literal ≥ 2). Two sizes are equal exactly when their normal forms
//! are, so `N + N` equals `2 * N` and `(N - 1) + M` equals `M + N - 1`; a
//! `div` term is kept as written once its inside is normal, except that an
//! exact division (`(2 * N + 4) div 2` is `N + 2`) and a constant are folded.
//! [`Dim::Expr`](super::types::Dim::Expr) holds the polynomials that are
//! neither a literal nor a single size name, so that `Dim`'s derived
//! equality is the equality of sizes.
//!
//! Every operation is checked: a coefficient that overflows `i64` is `None`,
//! which callers report as a size too large to compute.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A factor of a monomial.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    Name(Arc<str>),
    /// `p div d`: floor division by a literal `d ≥ 2`.
    Div(Arc<Poly>, u64),
}

/// A normal polynomial: monomial (sorted atoms; empty for the constant) →
/// non-zero coefficient.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Poly {
    terms: BTreeMap<Vec<Atom>, i64>,
}

impl Poly {
    pub fn constant(c: i64) -> Poly {
        let mut p = Poly::default();
        if c != 0 {
            p.terms.insert(Vec::new(), c);
        }
        p
    }

    pub fn name(n: &str) -> Poly {
        Poly::atom(Atom::Name(Arc::from(n)))
    }

    fn atom(a: Atom) -> Poly {
        let mut p = Poly::default();
        p.terms.insert(vec![a], 1);
        p
    }

    /// The constant, when the polynomial is one.
    pub fn as_constant(&self) -> Option<i64> {
        match self.terms.len() {
            0 => Some(0),
            1 => self.terms.get(&Vec::new()).copied(),
            _ => None,
        }
    }

    /// The size name, when the polynomial is exactly one name.
    pub fn as_name(&self) -> Option<&Arc<str>> {
        match self.terms.iter().next() {
            Some((m, 1)) if self.terms.len() == 1 && m.len() == 1 => match &m[0] {
                Atom::Name(n) => Some(n),
                Atom::Div(..) => None,
            },
            _ => None,
        }
    }

    fn add_term(&mut self, mono: Vec<Atom>, c: i64) -> Option<()> {
        if c == 0 {
            return Some(());
        }
        let e = self.terms.entry(mono).or_insert(0);
        *e = e.checked_add(c)?;
        if *e == 0 {
            self.terms.retain(|_, v| *v != 0);
        }
        Some(())
    }

    pub fn add(&self, o: &Poly) -> Option<Poly> {
        let mut r = self.clone();
        for (m, c) in &o.terms {
            r.add_term(m.clone(), *c)?;
        }
        Some(r)
    }

    pub fn scale(&self, k: i64) -> Option<Poly> {
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            r.add_term(m.clone(), c.checked_mul(k)?)?;
        }
        Some(r)
    }

    pub fn sub(&self, o: &Poly) -> Option<Poly> {
        self.add(&o.scale(-1)?)
    }

    pub fn mul(&self, o: &Poly) -> Option<Poly> {
        let mut r = Poly::default();
        for (ma, ca) in &self.terms {
            for (mb, cb) in &o.terms {
                let mut m: Vec<Atom> = ma.iter().chain(mb).cloned().collect();
                m.sort();
                r.add_term(m, ca.checked_mul(*cb)?)?;
            }
        }
        Some(r)
    }

    /// `self div d` (floor division) for `d ≥ 1`: folded when exact or
    /// constant, else a `div` atom.
    pub fn div(&self, d: u64) -> Option<Poly> {
        let di = i64::try_from(d).ok().filter(|&v| v > 0)?;
        if di == 1 {
            return Some(self.clone());
        }
        if let Some(c) = self.as_constant() {
            return Some(Poly::constant(c.div_euclid(di)));
        }
        if self.terms.values().all(|c| c % di == 0) {
            let mut r = Poly::default();
            for (m, c) in &self.terms {
                r.add_term(m.clone(), c / di)?;
            }
            return Some(r);
        }
        Some(Poly::atom(Atom::Div(Arc::new(self.clone()), d)))
    }

    /// The product of several sizes (an element count).
    pub fn product<'a>(it: impl IntoIterator<Item = &'a Poly>) -> Option<Poly> {
        it.into_iter()
            .try_fold(Poly::constant(1), |acc, p| acc.mul(p))
    }

    /// `self / o` when it is a polynomial with integer coefficients and `o`
    /// is one monomial (a coefficient times names and `div` terms) dividing
    /// every term: what `reshape`'s `-1` needs.
    pub fn exact_div(&self, o: &Poly) -> Option<Poly> {
        let (om, oc) = match o.terms.iter().next() {
            Some((m, c)) if o.terms.len() == 1 => (m, *c),
            _ => return None,
        };
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            if c % oc != 0 {
                return None;
            }
            let mut rest = m.clone();
            for a in om {
                let i = rest.iter().position(|x| x == a)?;
                rest.remove(i);
            }
            r.add_term(rest, c / oc)?;
        }
        Some(r)
    }

    /// The size names used, each once, in order.
    pub fn names(&self) -> Vec<Arc<str>> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out.sort();
        out.dedup();
        out
    }

    fn collect_names(&self, out: &mut Vec<Arc<str>>) {
        for m in self.terms.keys() {
            for a in m {
                match a {
                    Atom::Name(n) => out.push(n.clone()),
                    Atom::Div(p, _) => p.collect_names(out),
                }
            }
        }
    }

    /// The value at a binding of its names (None when one is unbound or the
    /// arithmetic overflows).
    pub fn eval(&self, get: &dyn Fn(&str) -> Option<i64>) -> Option<i64> {
        let mut total: i64 = 0;
        for (m, c) in &self.terms {
            let mut v = *c;
            for a in m {
                let x = match a {
                    Atom::Name(n) => get(n)?,
                    Atom::Div(p, d) => p.eval(get)?.div_euclid(i64::try_from(*d).ok()?),
                };
                v = v.checked_mul(x)?;
            }
            total = total.checked_add(v)?;
        }
        Some(total)
    }

    /// Replaces size names by polynomials (`get` gives None to keep a name),
    /// normalising again.
    pub fn subst(&self, get: &dyn Fn(&str) -> Option<Poly>) -> Option<Poly> {
        let mut r = Poly::default();
        for (m, c) in &self.terms {
            let mut t = Poly::constant(*c);
            for a in m {
                let f = match a {
                    Atom::Name(n) => get(n).unwrap_or_else(|| Poly::atom(a.clone())),
                    Atom::Div(p, d) => p.subst(get)?.div(*d)?,
                };
                t = t.mul(&f)?;
            }
            r = r.add(&t)?;
        }
        Some(r)
    }

    /// When the polynomial is `a·x + rest` with `x` a size name that appears
    /// nowhere else (not in `rest`, not inside a `div`), `(a, rest)`.
    pub fn linear_in(&self, x: &str) -> Option<(i64, Poly)> {
        let mut a = 0;
        let mut rest = Poly::default();
        for (m, c) in &self.terms {
            let uses = |at: &Atom| match at {
                Atom::Name(n) => &**n == x,
                Atom::Div(p, _) => p.names().iter().any(|n| &**n == x),
            };
            match m.as_slice() {
                [Atom::Name(n)] if &**n == x => a = *c,
                _ if m.iter().any(uses) => return None,
                _ => rest.add_term(m.clone(), *c)?,
            }
        }
        (a != 0).then_some((a, rest))
    }

    /// The postfix code the runtime evaluates (docs/abi.md, `size`
    /// records), with `slot` giving each size name's index in `dims`.
    pub fn postfix(&self, slot: &dyn Fn(&str) -> Option<usize>) -> Option<Vec<PostOp>> {
        let mut code = Vec::new();
        if self.terms.is_empty() {
            code.push(PostOp::Lit(0));
        }
        for (i, (m, c)) in self.terms.iter().enumerate() {
            let mut first = true;
            for a in m {
                match a {
                    Atom::Name(n) => code.push(PostOp::Dim(slot(n)?)),
                    Atom::Div(p, d) => {
                        code.extend(p.postfix(slot)?);
                        code.push(PostOp::Lit(i64::try_from(*d).ok()?));
                        code.push(PostOp::Div);
                    }
                }
                if !first {
                    code.push(PostOp::Mul);
                }
                first = false;
            }
            if first {
                code.push(PostOp::Lit(*c));
            } else if *c != 1 {
                code.push(PostOp::Lit(*c));
                code.push(PostOp::Mul);
            }
            if i > 0 {
                code.push(PostOp::Add);
            }
        }
        Some(code)
    }

    /// The terms: (monomial's atoms, coefficient), constant first.
    pub fn terms(&self) -> impl Iterator<Item = (&[Atom], i64)> {
        self.terms.iter().map(|(m, c)| (m.as_slice(), *c))
    }

    /// Terms in display order: higher degree first, the constant last.
    fn display_terms(&self) -> Vec<(&Vec<Atom>, i64)> {
        let mut t: Vec<(&Vec<Atom>, i64)> = self.terms.iter().map(|(m, c)| (m, *c)).collect();
        t.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        // `3 - N` reads better than `-N + 3`.
        if t.len() == 2 && t[0].1 < 0 && t[1].0.is_empty() && t[1].1 > 0 {
            t.swap(0, 1);
        }
        t
    }
}

/// One step of a size's postfix code (mirrors the runtime's `SizeOp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostOp {
    Dim(usize),
    Lit(i64),
    Add,
    Mul,
    Div,
}

fn write_atom(f: &mut fmt::Formatter<'_>, a: &Atom, alone: bool) -> fmt::Result {
    match a {
        Atom::Name(n) => f.write_str(n),
        Atom::Div(p, d) => {
            let simple = p.as_name().is_some();
            let open = if alone { "" } else { "(" };
            let close = if alone { "" } else { ")" };
            if simple {
                write!(f, "{open}{p} div {d}{close}")
            } else {
                write!(f, "{open}({p}) div {d}{close}")
            }
        }
    }
}

impl fmt::Display for Poly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let terms = self.display_terms();
        if terms.is_empty() {
            return f.write_str("0");
        }
        for (i, (m, c)) in terms.into_iter().enumerate() {
            let mag = c.unsigned_abs();
            match (i, c < 0) {
                (0, true) => f.write_str("-")?,
                (0, false) => {}
                (_, true) => f.write_str(" - ")?,
                (_, false) => f.write_str(" + ")?,
            }
            if m.is_empty() {
                write!(f, "{mag}")?;
                continue;
            }
            let alone = mag == 1 && m.len() == 1;
            if mag != 1 {
                write!(f, "{mag} * ")?;
            }
            for (k, a) in m.iter().enumerate() {
                if k > 0 {
                    f.write_str(" * ")?;
                }
                // A `div` term is parenthesised inside a product, and after a
                // minus sign (`N - (M div 2)` is clearer than `N - M div 2`).
                write_atom(f, a, alone && c > 0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Poly {
        Poly::name(s)
    }
    fn k(c: i64) -> Poly {
        Poly::constant(c)
    }

    #[test]
    fn equal_sizes_have_one_normal_form() {
        let nn = n("N").add(&n("N")).unwrap();
        assert_eq!(nn, k(2).mul(&n("N")).unwrap());
        let a = n("N").sub(&k(1)).unwrap().add(&n("M")).unwrap();
        let b = n("N").add(&n("M")).unwrap().sub(&k(1)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "M + N - 1");
        assert_eq!(n("N").sub(&n("N")).unwrap().as_constant(), Some(0));
        let nm = n("N").mul(&n("M")).unwrap();
        assert_eq!(nm, n("M").mul(&n("N")).unwrap());
        assert_eq!(nm.add(&n("N")).unwrap().to_string(), "M * N + N");
    }

    #[test]
    fn div_terms_are_kept_as_written_but_exact_and_constant_ones_fold() {
        let h = n("H")
            .sub(&k(3))
            .unwrap()
            .div(2)
            .unwrap()
            .add(&k(1))
            .unwrap();
        assert_eq!(h.to_string(), "(H - 3) div 2 + 1");
        // Not rewritten to `(H + 1) div 2 - 1`, although it is the same size.
        let other = n("H")
            .add(&k(1))
            .unwrap()
            .div(2)
            .unwrap()
            .sub(&k(1))
            .unwrap();
        assert_ne!(h, other);
        let exact = k(2)
            .mul(&n("N"))
            .unwrap()
            .add(&k(4))
            .unwrap()
            .div(2)
            .unwrap();
        assert_eq!(exact, n("N").add(&k(2)).unwrap());
        assert_eq!(k(-7).div(2).unwrap(), k(-4));
        assert_eq!(n("N").div(1).unwrap(), n("N"));
        assert_eq!(n("N").div(0), None);
        assert_eq!(n("N").div(2).unwrap().to_string(), "N div 2");
        let twice = k(2).mul(&n("N").div(3).unwrap()).unwrap();
        assert_eq!(twice.to_string(), "2 * (N div 3)");
        let minus = n("M").sub(&n("N").div(3).unwrap()).unwrap();
        assert_eq!(minus.to_string(), "M - (N div 3)");
        assert_eq!(k(3).sub(&n("N")).unwrap().to_string(), "3 - N");
        assert_eq!(k(0).sub(&n("N")).unwrap().to_string(), "-N");
    }

    #[test]
    fn evaluation_substitution_and_solving() {
        let h = n("H")
            .sub(&k(3))
            .unwrap()
            .div(2)
            .unwrap()
            .add(&k(1))
            .unwrap();
        let at = |v: i64| move |s: &str| (s == "H").then_some(v);
        assert_eq!(h.eval(&at(7)), Some(3));
        assert_eq!(h.eval(&at(2)), Some(0)); // floor(-1 / 2) + 1
        assert_eq!(h.eval(&|_| None), None);
        let big = k(i64::MAX).add(&n("N")).unwrap();
        assert_eq!(big.eval(&|_| Some(1)), None);
        let s = h.subst(&|x| (x == "H").then(|| k(2).mul(&n("B")).unwrap().add(&k(3)).unwrap()));
        assert_eq!(s.unwrap(), n("B").add(&k(1)).unwrap());
        let lin = k(2).mul(&n("N")).unwrap().add(&n("M")).unwrap();
        let (a, rest) = lin.linear_in("N").unwrap();
        assert_eq!((a, rest), (2, n("M")));
        assert!(n("N").mul(&n("N")).unwrap().linear_in("N").is_none());
        assert!(n("N")
            .div(2)
            .unwrap()
            .add(&n("N"))
            .unwrap()
            .linear_in("N")
            .is_none());
        let four_b = k(4).mul(&n("B")).unwrap();
        assert_eq!(four_b.exact_div(&k(4)).unwrap(), n("B"));
        assert_eq!(four_b.exact_div(&n("B")).unwrap(), k(4));
        assert!(four_b.exact_div(&k(3)).is_none());
    }

    #[test]
    fn postfix_code_computes_the_value() {
        let h = n("H")
            .sub(&k(3))
            .unwrap()
            .div(2)
            .unwrap()
            .add(&k(1))
            .unwrap();
        let e = h
            .add(&k(2).mul(&n("H")).unwrap().mul(&n("W")).unwrap())
            .unwrap();
        let slot = |s: &str| ["H", "W"].iter().position(|x| *x == s);
        let code = e.postfix(&slot).unwrap();
        let vals = [9i64, 5];
        let mut st: Vec<i64> = Vec::new();
        for op in code {
            match op {
                PostOp::Dim(i) => st.push(vals[i]),
                PostOp::Lit(v) => st.push(v),
                PostOp::Add | PostOp::Mul | PostOp::Div => {
                    let b = st.pop().unwrap();
                    let a = st.pop().unwrap();
                    st.push(match op {
                        PostOp::Add => a + b,
                        PostOp::Mul => a * b,
                        _ => a.div_euclid(b),
                    });
                }
            }
        }
        assert_eq!(st, vec![(9 - 3) / 2 + 1 + 2 * 9 * 5]);
    }
}
