"""A component written the way a Keboola developer writes one, on PyPI `keboola.component`.

It runs unchanged on Keboola and on Swan (tests/component_compat_test.cpp). It reads one input
table and its state, and writes two output tables with manifests and a new state:
  - runs.csv: one row about this run (full load; its destination comes from the output mapping):
    the run number, the state it read, the input rows and the `label` parameter;
  - orders_seen.csv: every input order with the run that saw it, loaded incrementally with the
    primary key `id` into out.c-compat.orders_seen (destination from its manifest);
  - with the parameter `typed_totals`, totals.csv: orders and total amount per customer, a table
    defined by a typed schema (its manifest format follows the data type support, see
    docs/keboola_interface_notes.md).
"""
import sys

# Vendored dependencies (pip install --target lib), mounted read-only with the code at /code.
sys.path.insert(0, "/code/lib")

import csv  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402

from keboola.component.base import ComponentBase  # noqa: E402
from keboola.component.dao import BaseType, ColumnDefinition  # noqa: E402
from keboola.component.exceptions import UserException  # noqa: E402

KEY_LABEL = "label"
KEY_TYPED_TOTALS = "typed_totals"
REQUIRED_PARAMETERS = [KEY_LABEL]


class Component(ComponentBase):
    def __init__(self):
        super().__init__()

    def run(self):
        self.validate_configuration_parameters(REQUIRED_PARAMETERS)
        params = self.configuration.parameters
        state = self.get_state_file()
        logging.info("state read: %s", json.dumps(state, sort_keys=True))
        run_number = int(state.get("runs", 0)) + 1

        # The input mapping names the file of each table (destination is always set).
        for mapping in self.configuration.tables_input_mapping:
            if not os.path.isfile(mapping.full_path):
                raise UserException(f"input {mapping.source}: {mapping.full_path} is missing")
            logging.info("input mapping %s -> %s", mapping.source, mapping.destination)

        tables = self.get_input_tables_definitions()
        if len(tables) != 1:
            raise UserException(f"expected one input table, found {len(tables)}")
        orders = tables[0]
        logging.info(
            "input %s (%s): columns %s, primary key %s",
            orders.name, orders.id, orders.column_names, orders.primary_key,
        )
        with open(orders.full_path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))

        seen = self.create_out_table_definition(
            "orders_seen.csv",
            destination="out.c-compat.orders_seen",
            incremental=True,
            primary_key=["id"],
        )
        with open(seen.full_path, "w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["id", "customer", "amount", "seen_in_run"])
            writer.writeheader()
            for row in rows:
                writer.writerow({
                    "id": row["id"],
                    "customer": row["customer"],
                    "amount": row["amount"],
                    "seen_in_run": run_number,
                })
        self.write_manifest(seen)

        runs = self.create_out_table_definition("runs.csv")
        with open(runs.full_path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["run", "previous_state", "input_rows", "label"])
            writer.writerow([run_number, json.dumps(state, sort_keys=True), len(rows), params[KEY_LABEL]])
        self.write_manifest(runs)

        if params.get(KEY_TYPED_TOTALS):
            self._write_totals(rows)

        last_id = max((int(row["id"]) for row in rows), default=0)
        self.write_state_file({"runs": run_number, "last_id": last_id})
        logging.info("run %d wrote %d orders", run_number, len(rows))

    def _write_totals(self, rows):
        totals = {}
        for row in rows:
            count, cents = totals.get(row["customer"], (0, 0))
            totals[row["customer"]] = (count + 1, cents + int(row["amount"]))
        schema = {
            "customer": ColumnDefinition(primary_key=True),
            "orders": ColumnDefinition(data_types=BaseType.integer()),
            "total": ColumnDefinition(data_types=BaseType.numeric(length="38,2"), description="sum of amounts"),
        }
        table = self.create_out_table_definition(
            "totals.csv", destination="out.c-compat.totals", schema=schema, has_header=True
        )
        with open(table.full_path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["customer", "orders", "total"])
            for customer, (count, cents) in sorted(totals.items()):
                writer.writerow([customer, count, f"{cents // 100}.{cents % 100:02d}"])
        self.write_manifest(table)


"""
        Main entrypoint
"""
if __name__ == "__main__":
    try:
        comp = Component()
        # this triggers the run method by default and is controlled by the configuration.action parameter
        comp.execute_action()
    except UserException as exc:
        logging.exception(exc)
        exit(1)
    except Exception as exc:
        logging.exception(exc)
        exit(2)
