DROP TABLE participant_documents;
