"""What a JS/TS file imports and from where: one reader for locate's ORM writes and Bun's served app."""

import pytest

from harness.locate.literals import js_imports


@pytest.mark.parametrize("line, binding", [
    ('import app from "./app";', ("app", "default", "./app")),
    ('import { db } from "~/server/db";', ("db", "db", "~/server/db")),
    ('import { api as app } from "./app";', ("app", "api", "./app")),
    ('import type { Chunk } from "@/db/schema";', ("Chunk", "Chunk", "@/db/schema")),
    ('import * as schema from "./schema";', ("schema", "*", "./schema")),
    ('const db = require("../db");', ("db", "default", "../db")),
    ('const { db: client } = require("../db");', ("client", "db", "../db")),
])
def test_each_form_of_import_binds_its_local_name_to_the_modules_export(line, binding):
    assert binding in js_imports(line + "\n")


def test_a_default_import_beside_named_ones_binds_each():
    assert js_imports('import React, { useState as state } from "react";\n') == [
        ("React", "default", "react"), ("state", "useState", "react")]
