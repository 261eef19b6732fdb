DROP TABLE vetting_results;
DROP TABLE vetting_batch_items;
DROP TABLE vetting_batches;
