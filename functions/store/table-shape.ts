/**
 * The one declaration of the table's shape, read by the store, the local
 * server (CreateTable on dynalite) and the CDK stack. No SDK import here, so
 * infra can use it without pulling the runtime client in.
 */
export const TABLE = {
  partitionKey: "PK",
  sortKey: "SK",
  indexes: {
    /** Subjects by site: GSI1PK = STUDY#<study>#SITE#<site>, GSI1SK = SUBJ#<id>. */
    bySite: { name: "GSI1", partitionKey: "GSI1PK", sortKey: "GSI1SK" },
    /** Revisions in commit order, the change feed: GSI2PK = FEED#<study>, GSI2SK = <committedAt>#<PK>#<SK>. */
    feed: { name: "GSI2", partitionKey: "GSI2PK", sortKey: "GSI2SK" },
  },
} as const;

export const TABLE_NAME_ENV = "TABLE_NAME";
