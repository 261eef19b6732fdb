DROP TABLE visa_letters;
