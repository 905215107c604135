"""SymPy layer: the derivation of eq. 3 and the lambdified field and Jacobian."""

import numpy as np
import pytest
import sympy

from dynsys._symbolic import derive_eq3, symbolic_system
from dynsys._system import jacobian, vector_field


@pytest.mark.parametrize("n", [1, 2, 3])
def test_derivation_of_eq3(n):
    d = derive_eq3(n)
    assert d.holds
    y = sympy.Matrix(sympy.symbols(f"y_1:{n + 1}", real=True))
    W = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"w_{i + 1}_{j + 1}"))
    # dz/dt = W y: the bias dropped out.
    assert sympy.simplify(d.dz_dt - W * y) == sympy.zeros(n, 1)
    assert not any(s.name.startswith("b_") for s in d.dy_dt.free_symbols)


def test_lambdified_jacobian_matches_finite_differences_and_numeric():
    rng = np.random.default_rng(3)
    n = 3
    s = symbolic_system(n=n)
    F, J = s.lambdify()
    W = rng.normal(size=(n, n))
    weights = [W[int(sym.name.split("_")[1]) - 1, int(sym.name.split("_")[2]) - 1]
               for sym in sorted(s.W.free_symbols, key=lambda v: v.name)]
    y = rng.uniform(0.1, 0.9, size=n)
    eps = 1e-6
    Jfd = np.array([(F(y + eps * e, *weights) - F(y - eps * e, *weights)) / (2 * eps) for e in np.eye(n)]).T
    np.testing.assert_allclose(J(y, *weights), Jfd, atol=1e-8)
    np.testing.assert_allclose(J(y, *weights), jacobian(W, y), atol=1e-12)
    np.testing.assert_allclose(F(y, *weights), vector_field(W, y), atol=1e-14)


def test_given_rational_weights():
    s = symbolic_system([[1, sympy.Rational(1, 2)], [-2, 0]])
    assert s.W.free_symbols == set()
    F, J = s.lambdify()
    np.testing.assert_allclose(F([0.5, 0.5]), vector_field(np.array([[1, 0.5], [-2, 0]]), [0.5, 0.5]))
    with pytest.raises(ValueError, match="`W` must have shape"):
        symbolic_system([[1]], n=2)
    with pytest.raises(ValueError, match="`n` must be"):
        symbolic_system(n=0)


def test_symbolic_system_refuses_complex_and_takes_a_network():
    import dynsys

    with pytest.raises(TypeError, match="`W`"):
        symbolic_system(np.array([[1.0, 1j], [0.0, 1.0]]))
    with pytest.raises(TypeError, match="`W`"):
        symbolic_system(sympy.Matrix([[1, sympy.I], [0, 1]]))
    W = np.array([[1.0, -2.0], [0.5, 1.0]])
    a = symbolic_system(dynsys.Network(W))
    assert a.W == symbolic_system(W).W


def test_symbolic_system_takes_the_system_first():
    """``symbolic_system(W)`` or ``symbolic_system(n=N)``; the old ``symbolic_system(n, W)``
    is refused, never read as a 1 x 1 or scalar W."""
    W = [[1, 2], [3, 4]]
    assert symbolic_system(W).n == 2 and symbolic_system(W, n=2).n == 2
    assert symbolic_system(n=3).W.shape == (3, 3)
    with pytest.raises(TypeError, match="n=2"):
        symbolic_system(2)
    with pytest.raises(TypeError, match="positional"):
        symbolic_system(2, W)
    with pytest.raises(TypeError, match="`n`"):
        symbolic_system()
    with pytest.raises(ValueError, match=r"shape \(3, 3\)"):
        symbolic_system(W, n=3)
    with pytest.raises(ValueError, match=r"shape \(N, N\)"):
        symbolic_system([1, 2, 3])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_derivation_of_the_tanh_flow(n):
    """x(t) = x(t-1) + tanh(W x(t-1) + b) in the continuous limit: dz/dt = W y (the bias drops
    out) and dy/dt = (1 - y^2)(W y), built here independently of the library."""
    d = derive_eq3(n, activation="tanh")
    assert d.holds and d.activation == "tanh" and "activation='tanh'" in repr(d)
    y = sympy.Matrix(sympy.symbols(f"y_1:{n + 1}", real=True))
    W = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"w_{i + 1}_{j + 1}"))
    flow = sympy.Matrix([(1 - y[i] ** 2) * (W * y)[i] for i in range(n)])
    assert sympy.simplify(d.dz_dt - W * y) == sympy.zeros(n, 1)
    assert sympy.expand(d.dy_dt - flow) == sympy.zeros(n, 1)
    assert sympy.expand(d.eq3 - flow) == sympy.zeros(n, 1)
    assert not any(s.name.startswith("b_") for s in d.dy_dt.free_symbols)
    # the logistic flow is a different field: the derivation tells them apart
    assert sympy.expand(derive_eq3(n).dy_dt - flow) != sympy.zeros(n, 1)


@pytest.mark.parametrize("activation", ["logistic", "tanh"])
def test_derived_noise_equation(activation):
    """The noise equation of the derived field: eq. 5 (or its tanh analogue) is exactly
    F(y + xi) - F(y), and its linear part is J(y) xi; checked against numbers here."""
    n = 2
    d = derive_eq3(n, activation=activation)
    assert d.noise_holds
    rng = np.random.default_rng(4)
    Wn = rng.normal(size=(n, n))
    lo = 0.0 if activation == "logistic" else -1.0
    yv = rng.uniform(lo + 0.1, 0.9, n)
    xv = rng.uniform(-0.05, 0.05, n)
    subs = {sympy.Symbol(f"w_{i + 1}_{j + 1}"): Wn[i, j] for i in range(n) for j in range(n)}
    subs.update({sympy.Symbol(f"y_{i + 1}", real=True): yv[i] for i in range(n)})
    subs.update({sympy.Symbol(f"xi_{i + 1}", real=True): xv[i] for i in range(n)})
    slope = (lambda v: v * (1 - v)) if activation == "logistic" else (lambda v: 1 - v**2)
    dslope = (lambda v: 1 - 2 * v) if activation == "logistic" else (lambda v: -2 * v)
    F = lambda v: slope(v) * (Wn @ v)  # noqa: E731
    J = np.diag(dslope(yv) * (Wn @ yv)) + np.diag(slope(yv)) @ Wn
    noise = np.array(d.noise.subs(subs), dtype=float).ravel()
    np.testing.assert_allclose(noise, F(yv + xv) - F(yv), rtol=1e-12)
    np.testing.assert_allclose(np.array(d.variational.subs(subs), dtype=float).ravel(),
                               J @ xv, rtol=1e-12)


def test_tanh_symbolic_system_is_exact_and_matches_the_formulas():
    W = [[1, sympy.Rational(-1, 2)], [sympy.Rational(3, 4), -2]]
    s = symbolic_system(W, activation="tanh")
    assert s.activation == "tanh" and s.box == (-1, 1) and "activation='tanh'" in repr(s)
    y1, y2 = s.y
    assert sympy.expand(s.F[0] - (1 - y1**2) * (y1 - y2 / 2)) == 0
    assert sympy.expand(s.F[1] - (1 - y2**2) * (sympy.Rational(3, 4) * y1 - 2 * y2)) == 0
    # exact rational work: the face point (1, 3/8) is a fixed point, its Jacobian rational
    pt = {y1: 1, y2: sympy.Rational(3, 8)}
    assert s.F.subs(pt) == sympy.zeros(2, 1)
    assert s.J.subs(pt) == sympy.Matrix([[-2 * (1 - sympy.Rational(3, 16)), 0],
                                         [(1 - sympy.Rational(9, 64)) * sympy.Rational(3, 4),
                                          (1 - sympy.Rational(9, 64)) * -2]])
    # the lambdified field and Jacobian against the closed forms at a random point
    Fn, Jn = s.lambdify()
    Wn = np.array(W, dtype=float)
    y = np.array([0.4, -0.7])
    np.testing.assert_allclose(Fn(y), (1 - y**2) * (Wn @ y), rtol=1e-14)
    np.testing.assert_allclose(Jn(y), np.diag(-2 * y * (Wn @ y)) + np.diag(1 - y**2) @ Wn,
                               rtol=1e-14)
    # symbolic weights: J = diag(-2y (Wy)) + diag(1 - y^2) W identically
    t = symbolic_system(n=3, activation="tanh")
    yv = sympy.Matrix(t.y)
    expect = (sympy.diag(*[-2 * t.y[i] * (t.W * yv)[i] for i in range(3)])
              + sympy.diag(*[1 - t.y[i] ** 2 for i in range(3)]) * t.W)
    assert (t.J - expect).applyfunc(sympy.expand) == sympy.zeros(3, 3)


def test_tanh_network_carries_its_activation():
    import dynsys

    W = np.array([[1.0, -2.0], [0.5, 1.0]])
    net = dynsys.Network(W, activation="tanh")
    a = symbolic_system(net)
    assert a.activation == "tanh" and a.F == symbolic_system(W, activation="tanh").F
    assert symbolic_system(net, n=2).activation == "tanh"
    assert symbolic_system(W).activation == "logistic" and "activation" not in repr(
        symbolic_system(W))
    with pytest.raises(ValueError, match="`activation`.*'tanh'"):
        symbolic_system(net, activation="logistic")
    with pytest.raises(ValueError, match="`activation`.*'relu'"):
        symbolic_system(W, activation="relu")
    with pytest.raises(ValueError, match="`activation`.*'relu'"):
        derive_eq3(2, activation="relu")
