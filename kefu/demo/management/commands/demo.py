"""``kefu demo``: load the demo org tree, staff, customers and work orders (idempotent), then print the logins."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from kefu.demo.desk import CTI_USERNAME, DeskResult, desk_demo_load, desk_demo_wipe
from kefu.demo.grid import GridResult, grid_demo_load, grid_demo_wipe
from kefu.demo.loader import admin_is_demo, demo_load, demo_loaded_count
from kefu.demo.metering import MeteringResult, metering_demo_load, metering_demo_wipe
from kefu.demo.orderload import OrdersResult, demo_orders_count, demo_orders_load
from kefu.demo.orgplan import ADMIN_USERNAME, DEMO_PASSWORD, login_rows, staff_plan
from kefu.demo.outages import OutagesResult, outages_demo_load, outages_demo_wipe


class Command(BaseCommand):
    help = "Load demo data: a power company and a gas group, staff in every role, customers and work orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=2000,
                            help="number of customers to generate (default 2000; 1000000 takes minutes)")
        parser.add_argument("--orders", type=int, default=2000,
                            help="work orders over the last 12 months (default 2000; 1000000 takes minutes)")
        parser.add_argument("--seed", type=int, default=7, help="same seed, same data (default 7)")
        parser.add_argument("--reset", action="store_true", help="remove the demo data first, then load again")
        parser.add_argument("--reset-orders", action="store_true",
                            help="remove the demo work orders only, then load them again (keeps the customers)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        customers: int = options["customers"]
        orders: int = options["orders"]
        if customers < 0:
            raise CommandError("--customers must be 0 or more")
        if orders < 0:
            raise CommandError("--orders must be 0 or more")
        verbosity: int = options["verbosity"]
        progress = verbosity > 0 and not options["no_progress"]
        # Calls point at demo units, customers and orders: clear them before those are wiped.
        if options["reset"] or demo_loaded_count() is None:
            desk_demo_wipe()
            outages_demo_wipe()  # outages point at demo nodes, accounts, orders and staff
            metering_demo_wipe()  # meters, routes, readings and IC cards point at demo units and accounts
            grid_demo_wipe()  # nodes hold protected references to the demo units and service points
        elif options["reset_orders"] or demo_orders_count() is None:
            desk_demo_wipe(orders_only=True)
            outages_demo_wipe()  # fault calls point at the demo orders
        result = demo_load(
            customers=customers, seed=options["seed"], reset=options["reset"], progress=progress,
            log=self.stdout.write,
        )
        if not result.loaded:
            self.stdout.write(f"Demo data is already loaded ({result.customers} customers); nothing to do.")
            if result.customers != customers:
                self.stdout.write(f"To load {customers} customers instead, run: kefu demo --reset "
                                  f"--customers {customers}")
        else:
            rows = ", ".join(f"{label.split('.')[-1]} {n:,}" for label, n in result.rows.items())
            self.stdout.write(self.style.SUCCESS(
                f"Loaded {result.customers:,} demo customers into {connection.vendor} in {result.seconds:.1f} s"
                + (f" ({rows})" if rows else "")
            ))
        self._report_grid(grid_demo_load(seed=options["seed"]))
        order_result = demo_orders_load(orders=orders, seed=options["seed"], reset=options["reset_orders"],
                                        progress=progress, log=self.stdout.write)
        self._report_orders(order_result, orders)
        self._report_desk(desk_demo_load(seed=options["seed"]))
        # After the topology (outages sit on it) and the orders and desk (their reload must not meet repair calls).
        self._report_outages(outages_demo_load(seed=options["seed"]))
        self._report_metering(metering_demo_load(seed=options["seed"]))
        if verbosity > 0:
            self._print_logins()

    def _report_orders(self, result: OrdersResult, wanted: int) -> None:
        if not result.loaded:
            self.stdout.write(f"Demo work orders are already loaded ({result.orders}); nothing to do.")
            if result.orders != wanted:
                self.stdout.write(f"To load {wanted} work orders instead, run: kefu demo --reset-orders "
                                  f"--orders {wanted}")
            return
        if result.staff_added:
            self.stdout.write(f"Added demo staff: {', '.join(result.staff_added)}")
        rows = ", ".join(f"{label.split('.')[-1]} {n:,}" for label, n in result.rows.items())
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {result.orders:,} demo work orders ({result.open:,} open) into {connection.vendor} in "
            f"{result.seconds:.1f} s" + (f" ({rows})" if rows else "")
        ))
        if result.personas:
            who = ", ".join(f"{name} {n}" for name, n in result.personas.items())
            self.stdout.write(f"Open orders to try first (Work orders → My queue / Unit queue): {who}")

    def _report_grid(self, result: GridResult) -> None:
        if result.loaded:
            self.stdout.write(self.style.SUCCESS(
                f"Built the demo network topology in {result.seconds:.1f} s: {result.nodes:,} nodes, "
                f"{result.attached:,} service points attached"))
        elif result.attached:
            self.stdout.write(f"The demo network topology is already built ({result.attached:,} service points "
                              f"attached); nothing to do.")

    def _report_desk(self, result: DeskResult) -> None:
        if result.loaded:
            self.stdout.write(self.style.SUCCESS(
                f"Loaded the desk demo in {result.seconds:.1f} s: {result.extensions} extensions (agent1 signed in "
                f"at 8001), {result.calls} past calls ({result.callbacks} numbers waiting for a callback), "
                f"arrears on {result.arrears:,} accounts"))
        elif result.calls:
            self.stdout.write(f"The desk demo is already loaded ({result.calls} past calls); nothing to do.")
        if result.token:
            self.stdout.write(f"Telephone system account '{CTI_USERNAME}', API token: {result.token} "
                              f"(POST /api/v1/cti/events/; or try: kefu cti_simulate ring --extension 8001 "
                              f"--caller 13800000000)")

    def _report_outages(self, result: OutagesResult) -> None:
        if result.loaded:
            self.stdout.write(self.style.SUCCESS(
                f"Made {result.outages} demo outages in {result.seconds:.1f} s: planned {result.planned} (in 8 days), "
                f"fault {result.live} in force now, {result.restored} restored, a fault proposal from "
                f"{result.proposal_calls} repair calls (the caller {result.caller} is inside the fault)"))
        elif result.outages:
            self.stdout.write(f"The demo outages are already there ({result.outages}); nothing to do.")

    def _report_metering(self, result: MeteringResult) -> None:
        if not result.loaded:
            if result.meters:
                self.stdout.write(f"The demo metering is already there ({result.meters} meters); nothing to do.")
            return
        rules = ", ".join(f"{rule} {n}" for rule, n in result.open_by_rule.items())
        self.stdout.write(self.style.SUCCESS(
            f"Made the metering demo in {result.seconds:.1f} s: {result.meters} meters, {result.routes} routes "
            f"({', '.join(result.readers)}), {result.readings:,} readings over 7 months, "
            f"{result.open_exceptions} open exceptions ({rules}); this month {result.read} of {result.planned} "
            f"planned meters read"))
        if result.cards:
            self.stdout.write(f"IC cards: {result.cards} issued, {result.purchases} purchases by {result.clerk}, "
                              f"{result.findings} card(s) that do not reconcile")
        elif result.prepaid_skipped:
            self.stdout.write(f"IC cards left out: {result.prepaid_skipped}")
        self.stdout.write(f"Metering to try first: {' / '.join(result.analysts)} (Metering → Exceptions, KPIs, "
                          f"IC-card reconciliation), {result.readers[0]} (Routes; kefu route_export --plan <id>)")

    def _print_logins(self) -> None:
        rows = login_rows()
        if not rows:
            return
        width = max(len(r[0]) for r in rows)
        self.stdout.write("")
        self.stdout.write(f"Demo logins — every demo user has the password: {DEMO_PASSWORD}")
        for username, role, unit in rows:
            self.stdout.write(f"  {username.ljust(width)}  {role}  ·  {unit}")
        others = len(staff_plan()) + 1 - len(rows)
        self.stdout.write(f"  … and {others} more staff (agent2, areamgr3, gas_inspector2, …), same password.")
        if not admin_is_demo():
            self.stdout.write(f"  Note: user '{ADMIN_USERNAME}' existed before the demo; its password was not changed.")
