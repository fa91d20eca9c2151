import * as v from "valibot";
import { list, scalar } from "./fields.ts";

/** One static tag or attribute after normalisation. */
export interface Tag {
  /** Tag (or attribute) name. */
  name: string;
  /** Non-empty value. */
  value: string;
}

/** One `{name, value}` (Butler SOS) or `{tag, value}` (product documentation) entry; `name` wins. */
const TagEntrySchema = v.pipe(
  v.looseObject(
    { name: v.optional(scalar()), tag: v.optional(scalar()), value: v.optional(scalar()) },
    (i) => `must be a mapping with name and value (got ${i.received})`,
  ),
  v.check((entry) => Boolean(entry.name || entry.tag), "needs a name (or tag)"),
  v.transform((entry) => ({ name: (entry.name || entry.tag) as string, value: entry.value ?? "" })),
);

/** A tag list (reference §14.1): entries without a value are dropped, so every output tag has one. */
export const TagListSchema = v.optional(
  v.pipe(
    list(TagEntrySchema),
    v.transform((entries): Tag[] => entries.filter((t) => t.value !== "")),
  ),
  [],
);
