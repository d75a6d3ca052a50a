/** One file a bulk export writes: produced lazily so memory stays bounded by a page of rows. */
export interface ExportFile {
  /** Path inside the job's folder, '/'-separated, e.g. "records.csv" or "form=ae/part-00000.ndjson.gz". */
  name: string;
  contentType: string;
  /** The file's text, in order. A name ending ".gz" is gzipped by the writer, never by the producer. */
  chunks: AsyncIterable<string>;
  /** Rows written, read once `chunks` is exhausted. */
  rows(): number;
}
/** What the writer reports for each file once stored: the manifest and the audit are built from these. */
export interface WrittenFile {
  name: string;
  contentType: string;
  bytes: number;
  rows: number;
  sha256: string;
}
