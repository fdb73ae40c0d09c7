-- A session's short title (Sessions/SessionTitles.cs): what tells sessions apart on a phone, made when it starts. Older
-- sessions have none stored; the API makes theirs from their title when it reads them.
ALTER TABLE sessions ADD COLUMN short_title TEXT;
