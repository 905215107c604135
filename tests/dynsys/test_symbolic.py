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
