"""Prefetch hints: the intrinsic, how far ahead the engine prefetches, and the ancestry rows
of a couple's spouses' parents."""

from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Iterations ahead for which scattered rows are prefetched (speed only; 32 was
#: faster than 8 and as fast as 64, benchmarks/README.md).
PREFETCH = 32


@intrinsic
def _prefetch(typingctx, array, index):
    """Ask the CPU to start loading row ``index`` of ``array`` into the caches.

    A hint only (LLVM's ``llvm.prefetch``): it changes no value, and an
    out-of-range index is harmless because nothing is read from it. Used where
    the rows needed a few iterations ahead are known but scattered in memory.
    """

    def codegen(context, builder, signature, args):
        array_type, index_type = signature.args
        view = context.make_array(array_type)(context, builder, args[0])
        zero = ir.Constant(ir.IntType(64), 0)
        first = context.cast(builder, args[1], index_type, types.intp)
        where = cgutils.get_item_pointer(context, builder, array_type, view,
                                         [first] + [zero] * (array_type.ndim - 1),
                                         wraparound=False)
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        # read, keep in all cache levels, data cache
        builder.call(hint, [builder.bitcast(where, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, index), codegen


@njit(cache=True)
def _prefetch_rows(k, couples, parent_couple, old_rows):
    """Prefetch the ``ancestor_rows`` rows of the spouses' parent couples of couple k."""
    f, m = couples[k, 0], couples[k, 1]
    if f >= 0 and parent_couple[f] >= 0:
        _prefetch(old_rows, parent_couple[f])
    if parent_couple[m] >= 0:
        _prefetch(old_rows, parent_couple[m])
