-- count
SELECT COUNT(*) FROM (SELECT p.id FROM patient p WHERE (p.deleted = 0) AND (REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(TRANSLATE(p.family, 'ABCDEFGHIJKLMNOPQRSTUVWXYZÀÁÂÃÄÅàáâãäåÇçÈÉÊËèéêëÌÍÎÏìíîïÑñÒÓÔÕÖØòóôõöøÙÚÛÜùúûüÝŸýÿ', 'abcdefghijklmnopqrstuvwxyzaaaaaaaaaaaacceeeeeeeeiiiiiiiinnoooooooooooouuuuuuuuyyyy'), 'Æ', 'ae'), 'æ', 'ae'), 'Œ', 'oe'), 'œ', 'oe'), 'ẞ', 'ss'), 'ß', 'ss') LIKE $1 ESCAPE '\')) AS t
-- binds: [Text("x%")]
