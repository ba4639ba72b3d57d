-- Placeholder: number 007 belongs to the follow-ups branch; its migration replaces this file
-- when the branches are merged (migration numbers must run unbroken).
SELECT 1;
