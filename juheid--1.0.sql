/* juheid--1.0.sql: install script for juheid 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION juheid" to load this file. \quit

------------------------------------------------------------------------------
-- Verification (src/juheid.c, src/guc.c, src/transport.c, ...)
------------------------------------------------------------------------------
-- CORE-BEGIN
-- CORE-END

------------------------------------------------------------------------------
-- ID toolkit (src/idcard.c, src/name.c, src/toolkit.c)
------------------------------------------------------------------------------
-- TOOLKIT-BEGIN
-- TOOLKIT-END
