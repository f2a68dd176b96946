import { z } from "zod";
import { ValidationError } from "../../domain/errors.js";
import { SeriesGrid } from "./series-grid.js";
import { columnIndexes, numberText, parseRow, readCsvRecords } from "./trace-csv.js";
import type { TraceRead } from "./trace-read.js";

/**
 * Reader of the Azure 2017 per-tenant demand series (C2FAR's long-format cut, see
 * shared/data/README.md): one series per (tenant_id, series_subsubtype, vm_category, resource),
 * 5-minute steps.
 *
 * `series_subsubtype` is part of the key because one tenant (cust.93) has two series per
 * (category, resource), one per subsubtype code; without it their values would be averaged into
 * one. An empty `vm_category` means "all categories" and is named `all` in the id.
 *
 * Time: the trace gives only `offset_s` (= step × 300) from the series start; there is no date.
 * Step 0 is placed at epoch 0 (1970-01-01T00:00:00Z), so `startSeconds` is the offset itself and
 * calendar features derived from it are relative, not real weekdays. A future file with the same
 * offsets continues the series.
 *
 * Junk: none known; any malformed row is an error naming file, line and column.
 */

/** Epoch seconds of step 0 (the trace has no absolute time). */
export const AZURE_TENANT_ORIGIN_SECONDS = 0;
export const AZURE_TENANT_STEP_SECONDS = 300;

const COLUMNS = {
  tenant: "tenant_id",
  subsubtype: "series_subsubtype",
  category: "vm_category",
  resource: "resource",
  period: "sampling_period_s",
  offset: "offset_s",
  value: "value",
} as const;

const RowSchema = z.object({
  tenant: z.string().min(1, { error: "expected a tenant id" }),
  subsubtype: z.string(),
  category: z.string(),
  resource: z.string().min(1, { error: "expected a resource name (vcpus or memory)" }),
  period: numberText.pipe(
    z.literal(AZURE_TENANT_STEP_SECONDS, { error: "expected 300 (5-minute series)" }),
  ),
  offset: numberText.pipe(z.number().int().min(0, { error: "expected an offset ≥ 0" })),
  value: numberText,
});

/**
 * Reads Azure tenant-demand files into series.
 *
 * @param files `.csv`/`.csv.gz` files in the long layout, each with its header row
 * @returns one series per tenant/subsubtype/category/resource, sorted by id
 * @throws ValidationError naming file, line and column for a malformed row or header
 */
export async function readAzureTenant(files: readonly string[]): Promise<TraceRead> {
  const grid = new SeriesGrid(AZURE_TENANT_STEP_SECONDS);
  let rows = 0;
  for (const file of files) {
    let index: Record<keyof typeof COLUMNS, number> | undefined;
    await readCsvRecords(file, ({ fields, line }) => {
      if (!index) {
        index = columnIndexes(file, fields, COLUMNS, "azure-tenant");
        return;
      }
      const at = index;
      const row = parseRow(
        RowSchema,
        {
          tenant: fields[at.tenant],
          subsubtype: fields[at.subsubtype],
          category: fields[at.category],
          resource: fields[at.resource],
          period: fields[at.period],
          offset: fields[at.offset],
          value: fields[at.value],
        },
        { file, line },
        COLUMNS,
      );
      rows++;
      const category = row.category === "" ? "all" : row.category;
      const id = `${row.tenant}/${row.subsubtype}/${category}/${row.resource}`;
      grid.add(
        id,
        AZURE_TENANT_ORIGIN_SECONDS + row.offset,
        row.value,
        {
          format: "azure-tenant",
          tenant: row.tenant,
          category,
          resource: row.resource,
          zone: row.subsubtype,
        },
        { file, line, column: COLUMNS.offset },
      );
    });
    if (!index) {
      throw new ValidationError(`${file} is empty; expected an azure-tenant CSV with a header.`);
    }
  }
  return {
    format: "azure-tenant",
    stepSeconds: AZURE_TENANT_STEP_SECONDS,
    series: grid.build(),
    files,
    rows,
    skipped: {},
    assumed: {},
  };
}
