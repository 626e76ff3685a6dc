"""Fill the work-order hooks: group new repair calls, keep linked ones from a second dispatch."""

from __future__ import annotations

from kefu.workorders import hooks as workorder_hooks

from .grouping import dispatch_refusal, fault_call_received


def register() -> None:
    if fault_call_received not in workorder_hooks.AFTER_INTAKE:
        workorder_hooks.AFTER_INTAKE.append(fault_call_received)
    if dispatch_refusal not in workorder_hooks.DISPATCH_GUARDS:
        workorder_hooks.DISPATCH_GUARDS.append(dispatch_refusal)
