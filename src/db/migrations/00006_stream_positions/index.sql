-- How far the write-behind has read the event stream, per rebuild epoch: the
-- stream's entries-added counter (Redis counts every entry ever added to a
-- stream, and replicates the count with the entries). Each batch moves it on,
-- in the batch's own transaction. A Redis whose counter is below it has
-- forgotten entries Postgres already holds (a failover that lost writes): the
-- write-behind stops that stream and says so, rather than guess; `stopped_at`
-- (Redis's count when it was found behind) keeps it stopped even once new
-- entries carry the count past what Postgres saw, until a rebuild starts a new epoch.
create table stream_positions (
  epoch         bigint primary key,
  entries_added bigint not null,
  stopped_at    bigint
);
