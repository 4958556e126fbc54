; Descant's Windows installer. `cargo xtask windows` builds it on Linux with Debian's NSIS
; (`makensis`), defining VERSION, STAGE (the folder with the files to install) and OUTFILE.
;
; What it installs (for all users; it asks for administrator rights):
;   %COMMONPROGRAMFILES%\CLAP\Descant\Descant.clap, with onnxruntime.dll beside it
;       (CLAP hosts search their folder recursively; a folder of its own keeps Descant's ONNX
;       Runtime apart from any other plugin's);
;   %COMMONPROGRAMFILES%\VST3\Descant.vst3 (onnxruntime.dll inside, beside the binary);
;   %PROGRAMFILES%\Descant\descant.exe, with onnxruntime.dll, the model card and the
;       uninstaller; a Start menu folder with "Descant command prompt" (a prompt where `descant`
;       runs) and the uninstaller; "App Paths" so that Run (Win+R) finds descant.exe;
;   an entry in Settings > Apps, whose uninstaller removes all of the above.
; Silent: `Descant-VERSION-setup.exe /S`, and `uninstall.exe /S`.

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma

!include "MUI2.nsh"

!ifndef VERSION | STAGE | OUTFILE
  !error "cargo xtask windows defines VERSION, STAGE and OUTFILE"
!endif

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Descant"
!define APP_PATHS_KEY "Software\Microsoft\Windows\CurrentVersion\App Paths\descant.exe"

Name "Descant ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Descant"
RequestExecutionLevel admin
BrandingText "Descant ${VERSION}"

!define MUI_ABORTWARNING
!define MUI_LICENSEPAGE_TEXT_TOP "Descant's model may be used for non-commercial purposes only."
!define MUI_LICENSEPAGE_TEXT_BOTTOM "Click I Agree to accept these terms and install Descant."
!insertmacro MUI_PAGE_LICENSE "${STAGE}\LICENCE.txt"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Descant"
  SetShellVarContext all

  SetOutPath "$COMMONFILES64\CLAP\Descant"
  File "${STAGE}\Descant.clap"
  File "${STAGE}\onnxruntime.dll"

  SetOutPath "$COMMONFILES64\VST3\Descant.vst3"
  File /r "${STAGE}\Descant.vst3\*"

  SetOutPath "$INSTDIR"
  File "${STAGE}\descant.exe"
  File "${STAGE}\onnxruntime.dll"
  File "${STAGE}\LICENCE.txt"
  File "${STAGE}\MODEL_CARD.md"
  File "${STAGE}\MODEL_CARD-open.md"
  File "${STAGE}\DATA.md"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\Descant"
  CreateShortcut "$SMPROGRAMS\Descant\Descant command prompt.lnk" "$SYSDIR\cmd.exe" \
    '/k "set PATH=$INSTDIR;%PATH% && descant --help"' "" "" SW_SHOWNORMAL "" \
    "A command prompt where the descant program runs"
  CreateShortcut "$SMPROGRAMS\Descant\Uninstall Descant.lnk" "$INSTDIR\uninstall.exe"

  WriteRegStr HKLM "${APP_PATHS_KEY}" "" "$INSTDIR\descant.exe"
  WriteRegStr HKLM "${APP_PATHS_KEY}" "Path" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "Descant ${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Descant developers"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext all

  Delete "$COMMONFILES64\CLAP\Descant\Descant.clap"
  Delete "$COMMONFILES64\CLAP\Descant\onnxruntime.dll"
  RMDir "$COMMONFILES64\CLAP\Descant"
  RMDir /r "$COMMONFILES64\VST3\Descant.vst3"
  ; The plugin folders themselves only if this install made them (RMDir keeps a folder that is
  ; not empty).
  RMDir "$COMMONFILES64\CLAP"
  RMDir "$COMMONFILES64\VST3"

  Delete "$SMPROGRAMS\Descant\Descant command prompt.lnk"
  Delete "$SMPROGRAMS\Descant\Uninstall Descant.lnk"
  RMDir "$SMPROGRAMS\Descant"

  Delete "$INSTDIR\descant.exe"
  Delete "$INSTDIR\onnxruntime.dll"
  Delete "$INSTDIR\LICENCE.txt"
  Delete "$INSTDIR\MODEL_CARD.md"
  Delete "$INSTDIR\MODEL_CARD-open.md"
  Delete "$INSTDIR\DATA.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  DeleteRegKey HKLM "${APP_PATHS_KEY}"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"
SectionEnd
