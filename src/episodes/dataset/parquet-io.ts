/**
 * The one place that calls the Parquet library: Arrow tables to Parquet bytes and back, with
 * the file's key-value metadata, and the library's failures turned into a {@link DatasetError}
 * that says whether the file is not Parquet at all, cut short, or damaged inside.
 *
 * Library: parquet-wasm (arrow-rs compiled to WebAssembly; its Node entry reads its .wasm from
 * the package, so it works offline) with apache-arrow for the in-memory tables. Files are
 * compressed with ZSTD, which pyarrow, fastparquet, polars and DuckDB all read.
 */
import { Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  Compression,
  readParquet,
  readSchema,
  Table as WasmTable,
  WriterPropertiesBuilder,
  writeParquet,
} from 'parquet-wasm';
import { DatasetError } from '../../core/errors.js';

/** Parquet files start and end with these four bytes (the end ones follow the footer). */
const MAGIC = [0x50, 0x41, 0x52, 0x31]; // "PAR1"

/**
 * Serialises `table` as one Parquet file, `keyValue` in its footer's key-value metadata and in
 * the Arrow schema stored beside it. pyarrow reads a file's metadata from that stored schema
 * (`ARROW:schema`) and writes back only what it read: with the documents in the footer alone, a
 * plain `pq.write_table(pq.read_table(f), f)` dropped them (issue #21).
 */
export function encodeParquet(table: Table, keyValue: ReadonlyMap<string, string>): Uint8Array {
  const properties = new WriterPropertiesBuilder()
    .setCompression(Compression.ZSTD)
    .setCreatedBy('armprior')
    .setKeyValueMetadata(new Map(keyValue))
    .build();
  const schema = new Schema(table.schema.fields, new Map([...table.schema.metadata, ...keyValue]));
  const described = new Table(schema, table.batches);
  // parquet-wasm takes tables across the wasm boundary as Arrow IPC (the call frees both).
  return writeParquet(WasmTable.fromIPCStream(tableToIPC(described, 'stream')), properties);
}

/** A Parquet file's rows as an Arrow table, and its key-value metadata. */
export interface DecodedParquet {
  table: Table;
  keyValue: ReadonlyMap<string, string>;
}

/** Reads a whole Parquet file; `file` names it in errors. */
export function decodeParquet(bytes: Uint8Array, file: string): DecodedParquet {
  checkFraming(bytes, file);
  let table: Table;
  try {
    table = tableFromIPC(readParquet(bytes).intoIPCStream());
  } catch (error) {
    throw corrupt(file, error);
  }
  return { table, keyValue: table.schema.metadata };
}

/** Reads only the footer's key-value metadata (no column data is decoded). */
export function readParquetKeyValue(bytes: Uint8Array, file: string): ReadonlyMap<string, string> {
  checkFraming(bytes, file);
  try {
    const schema = readSchema(bytes);
    return new Map(schema.metadata());
  } catch (error) {
    throw corrupt(file, error);
  }
}

/**
 * Tells a file that is not Parquet from one cut short: a crash or a full disk leaves the start
 * ("PAR1") without the footer and the closing "PAR1".
 */
function checkFraming(bytes: Uint8Array, file: string): void {
  const startsRight = MAGIC.every((b, i) => bytes[i] === b);
  if (!startsRight) {
    const what = bytes.length === 0 ? 'the file is empty' : 'it does not start with the Parquet magic "PAR1"';
    throw new DatasetError('dataset_invalid', 'not_parquet', file, `not a Parquet file: ${what}`);
  }
  const endsRight = bytes.length >= 12 && MAGIC.every((b, i) => bytes[bytes.length - 4 + i] === b);
  if (!endsRight) {
    throw new DatasetError(
      'dataset_invalid',
      'truncated',
      file,
      `truncated Parquet file (${bytes.length} bytes, no footer): it was cut short while being written or copied`,
    );
  }
}

function corrupt(file: string, error: unknown): DatasetError {
  const detail = error instanceof Error ? error.message : String(error);
  return new DatasetError('dataset_invalid', 'corrupt', file, `corrupt Parquet file: ${detail}`, {
    cause: error,
  });
}
